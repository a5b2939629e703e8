"""The assessment's pages: the board with its ranks and evidence links, publishing and marks from
it, a worker's page, the evidence page, the scheme page, the phone's "my assessment"."""

import pytest

from gridgov.gridwork.models import AssessmentSnapshot, LeaderMark, Scheme

from . import world
from .test_assess_formulas import file
from .world_day import client

Q1 = "2026-Q1"


@pytest.fixture
def w(street, settings, tmp_path):
    from gridgov.cases.taxonomy import seed_taxonomy

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    seed_taxonomy()
    w = world.build(street)
    for d in (5, 6, 7):
        file(w["gw_c1g1"], world.when(2026, 1, d))
    return w


def test_the_board_ranks_and_links_every_figure(w):
    page = client(w["staff_c1"]).get("/gridwork/", {"period": Q1})
    html = page.content.decode()
    assert page.status_code == 200 and "gw_c1g1" in html and "gw_c2g1" not in html
    assert f"/gridwork/evidence/?period={Q1}&user={w['gw_c1g1'].pk}&formula=valid_reports&which=num" in html
    assert client(w["resident"]).get("/gridwork/").status_code == 403
    assert "2026-H1" in client(w["leader"]).get("/gridwork/", {"period": "2026-H1"}).content.decode()


def test_marks_and_publishing_from_the_board(w):
    gw = w["gw_c1g1"]
    r = client(w["staff_c1"]).post("/gridwork/marks/", {"period": Q1, "user": gw.pk, "mark": "91"})
    assert r.status_code == 302 and LeaderMark.objects.get(worker=gw, period=Q1).mark == 91
    client(w["staff_c1"]).post("/gridwork/publish/", {"period": Q1})
    assert not AssessmentSnapshot.objects.exists()  # only the street publishes
    client(w["admin"]).post("/gridwork/publish/", {"period": Q1})
    assert AssessmentSnapshot.objects.filter(period=Q1).exists()
    assert "id=\"published\"" in client(w["leader"]).get("/gridwork/", {"period": Q1}).content.decode()


def test_worker_evidence_scheme_and_phone_pages(w):
    gw, c = w["gw_c1g1"], client(w["staff_c1"])
    assert "gw_c1g1" in c.get(f"/gridwork/workers/{gw.pk}/", {"period": Q1}).content.decode()
    assert c.get(f"/gridwork/workers/{w['gw_c2g1'].pk}/", {"period": Q1}).status_code == 404
    ev = c.get("/gridwork/evidence/", {"period": Q1, "user": gw.pk, "formula": "valid_reports", "which": "den"})
    assert ev.status_code == 200 and ev.content.decode().count("/cases/") == 3
    assert c.get("/gridwork/scheme/").status_code == 200
    form = {"name": "2026 下半年方案", "valid_from": "2026-07-01", "weight_valid_reports": "60", "weight_on_time": "40"}
    client(w["admin"]).post("/gridwork/scheme/", form)
    assert Scheme.objects.filter(name="2026 下半年方案").exists()
    c.post("/gridwork/scheme/", {**form, "name": "越权"})
    assert not Scheme.objects.filter(name="越权").exists()
    phone = client(gw).get("/m/gridwork/assess/")
    assert phone.status_code == 200 and "我的考核" in phone.content.decode()


def test_the_evidence_page_computes_one_worker_not_the_street(w, monkeypatch):
    """The evidence of one figure is that worker's formula alone: the street's assessment is never
    computed for it, and a worker outside the user's reach is a 404."""
    from gridgov.gridwork import assess

    gw, c = w["gw_c1g1"], client(w["staff_c1"])

    def whole_street(*a, **kw):
        raise AssertionError("the whole street's assessment was computed")

    monkeypatch.setattr(assess, "assess", whole_street)
    ev = c.get("/gridwork/evidence/", {"period": Q1, "user": gw.pk, "formula": "valid_reports", "which": "den"})
    assert ev.status_code == 200 and ev.content.decode().count("/cases/") == 3
    assert "gw_c1g1" in ev.content.decode() and "3" in ev.content.decode()
    assert c.get("/gridwork/evidence/", {"period": Q1, "user": w["gw_c2g1"].pk, "formula": "valid_reports"}).status_code == 404
