"""Disputes' pages: the staff ledger (at-risk first, counts), the xlsx export, a dispute's page
with its actions and the audited reveal, the phone pages (record on the spot, session, end,
follow up)."""

import io

import pytest
from openpyxl import load_workbook

from gridgov.core.models import AuditEntry
from gridgov.gridwork.models import Dispute

from . import world
from .world_day import client
from .world_disputes import record


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def w(street):
    return world.build(street)


def test_the_staff_ledger_and_the_xlsx_export(w):
    calm = record(w, summary="邻居噪音")
    hot = record(w, risk="high", summary="扬言报复")
    c = client(w["staff_c1"])
    r = c.get("/gridwork/disputes/")
    assert r.status_code == 200
    html = r.content.decode()
    assert html.index(hot.number) < html.index(calm.number) and 'class="at-risk"' in html
    r = c.get("/gridwork/disputes/?risk=high&format=xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "编号" and [x[0] for x in rows[1:]] == [hot.number]
    assert "13812345678" not in str(rows) and "138****5678" in str(rows)
    assert client(w["resident"]).get("/gridwork/disputes/").status_code in (302, 403)


def test_a_dispute_page_acts_and_reveals(w):
    d = record(w)
    c = client(w["staff_c1"])
    r = c.get(f"/gridwork/disputes/{d.pk}/")
    assert r.status_code == 200 and "138****5678" in r.content.decode() and "13812345678" not in r.content.decode()
    before = AuditEntry.objects.count()
    r = c.post(f"/gridwork/disputes/{d.pk}/", {"reveal": "1"})
    assert "13812345678" in r.content.decode() and AuditEntry.objects.count() == before + 1
    c.post(f"/gridwork/disputes/{d.pk}/session/", {"version": 1, "mediator_kind": ["community", "mediator"],
                                                    "mediator_name": ["社区干部", "王调解员"], "note": "调解"})
    c.post(f"/gridwork/disputes/{d.pk}/end/", {"version": 2, "outcome": "referred", "referred_to": "派出所"})
    d.refresh_from_db()
    assert d.state == "referred" and d.referred_to == "派出所"
    stale = c.post(f"/gridwork/disputes/{d.pk}/follow_up/", {"version": 1, "note": "x", "holds": "1"}, follow=True)
    assert "刷新" in stale.content.decode() and Dispute.objects.get(pk=d.pk).state == "referred"
    assert client(w["gw_c2g1"]).get(f"/gridwork/disputes/{d.pk}/").status_code == 404


def test_the_phone_pages(w):
    gw = w["gw_c1g1"]
    c = client(gw)
    r = c.post("/m/gridwork/disputes/new/", {"kind": "housing", "summary": "押金不退", "grid": w["street"]["c1g1m2"].pk,
                                             "risk": "low", "party_name": ["租客", "房东", ""],
                                             "party_phone": ["13700001111", "", ""], "party_role": ["租客", "房东", ""]})
    d = Dispute.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/m/gridwork/disputes/{d.pk}/"
    assert d.parties.count() == 2 and d.recorded_by == gw
    assert d.number in c.get("/m/gridwork/disputes/").content.decode()
    c.post(f"/m/gridwork/disputes/{d.pk}/session/", {"version": 1, "mediator_kind": ["grid_worker"],
                                                      "mediator_name": ["网格员"], "note": "协商"})
    c.post(f"/m/gridwork/disputes/{d.pk}/end/", {"version": 2, "outcome": "agreed", "text": "退还押金"})
    r = c.post(f"/m/gridwork/disputes/{d.pk}/follow_up/", {"version": 3, "note": "已退", "holds": "1"})
    d.refresh_from_db()
    assert d.state == "closed"
    page = c.get(f"/m/gridwork/disputes/{d.pk}/").content.decode()
    assert "已回访" in page and "form-reopen" in page
