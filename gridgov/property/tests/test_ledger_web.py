"""The ledger's pages: the staff ledger (the board's links, counts, clocks, the xlsx of the filtered
rows), a problem's page with its forms, the company's phone list (late first) and answer form,
the staff's phone list of answers to re-check, photos behind visibility."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from gridgov.property import services
from gridgov.property.models import Problem

from .ledger_helpers import at, client, problem
from .world import photo

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def scratch_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def upload():
    return SimpleUploadedFile("after.png", photo(), content_type="image/png")


@pytest.fixture
def ledger(w):
    """Q3 2026 in c1: a late escalated problem, a reopened one answered again, one answered in time;
    one in c2."""
    q3 = at(2026, 7, 8, 10)
    late = problem(w, now=q3, code="C2", note="垃圾桶满溢")
    services.escalate_late(late.due_at + timedelta(hours=2))
    reopened = problem(w, now=q3 + timedelta(days=1), code="C1", note="楼道堆物")
    reopened = services.answer_problem(w["pm_c1"], reopened, note="已清", photos=[photo()], now=q3 + timedelta(days=1))
    reopened = services.recheck_problem(w["staff_c1"], reopened, passed=False, note="未清完", now=q3 + timedelta(days=1))
    services.answer_problem(w["pm_c1"], reopened, note="清完了", photos=[photo()], now=q3 + timedelta(days=2))
    in_time = problem(w, now=q3 + timedelta(days=2), code="E2", note="消防通道停车")
    services.answer_problem(w["pm_c1"], in_time, note="已移车", photos=[photo()], now=q3 + timedelta(days=2))
    other = problem(w, "c2", now=q3, code="C1", note="楼道脏")
    return {"late": late, "reopened": reopened, "in_time": in_time, "other": other}


def _xlsx_numbers(content) -> list[str]:
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    return [r[0] for r in rows[1:]]


def test_staff_ledger_follows_the_boards_links_and_exports_the_filtered_rows(w, ledger):
    staff = client(w["section"])
    base = f"/property/problems/?project={w['project_c1'].pk}&quarter=2026Q3"
    r = staff.get(base)
    assert r.status_code == 200
    html = r.content.decode()
    for k in ("late", "reopened", "in_time"):
        assert ledger[k].number in html
    assert ledger["other"].number not in html
    assert 'data-count="open">1<' in html and 'data-count="answered">2<' in html
    assert 'data-escalation="1"' in html and 'data-late="1"' in html
    r = staff.get(base + "&late=1")
    html = r.content.decode()
    assert ledger["late"].number in html and ledger["reopened"].number not in html
    r = staff.get(base + "&reopened=1")
    html = r.content.decode()
    assert ledger["reopened"].number in html and ledger["late"].number not in html
    r = staff.get(base + "&late=1&format=xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    assert _xlsx_numbers(r.content) == [ledger["late"].number]
    r = staff.get(base + "&state=answered&format=xlsx")
    assert sorted(_xlsx_numbers(r.content)) == sorted([ledger["reopened"].number, ledger["in_time"].number])
    # the community's staff see only their community's; the other company nothing of c1
    assert ledger["other"].number not in client(w["staff_c1"]).get("/property/problems/?format=xlsx").content.decode(
        "latin-1")
    assert _xlsx_numbers(client(w["staff_c2"]).get("/property/problems/?format=xlsx").content) == [
        ledger["other"].number]
    assert staff.get("/property/problems/?quarter=2026-5").status_code == 404


def test_staff_problem_page_recheck_and_cancel(w, ledger):
    staff = client(w["staff_c1"])
    p = Problem.objects.get(pk=ledger["in_time"].pk)
    r = staff.get(f"/property/problems/{p.pk}/")
    html = r.content.decode()
    assert r.status_code == 200 and 'id="recheck-form"' in html and 'id="answer-form"' not in html
    assert 'data-stage="found"' in html and 'data-stage="answer"' in html and 'data-action="answer"' in html
    assert client(w["staff_c2"]).get(f"/property/problems/{p.pk}/").status_code == 404
    r = staff.post(f"/property/problems/{p.pk}/recheck/", {"passed": "0", "note": "", "version": p.version})
    assert r.status_code == 400 and "复查不通过须写明原因" in r.content.decode()
    r = staff.post(f"/property/problems/{p.pk}/recheck/", {"passed": "0", "note": "车还在", "days": "2",
                                                          "version": Problem.objects.get(pk=p.pk).version,
                                                          "photos": [upload()]})
    assert r.status_code == 302
    p = Problem.objects.get(pk=p.pk)
    assert p.state == Problem.State.OPEN and p.days == 2 and p.photos.filter(stage="recheck").count() == 1
    r = staff.post(f"/property/problems/{p.pk}/cancel/", {"reason": "误登", "version": p.version - 1})
    assert r.status_code == 409
    r = staff.post(f"/property/problems/{p.pk}/cancel/", {"reason": "误登", "version": p.version})
    assert r.status_code == 302 and Problem.objects.get(pk=p.pk).state == Problem.State.CANCELLED


def test_company_answers_on_its_problem_page(w):
    p = problem(w, now=timezone.now() - timedelta(hours=1))
    company = client(w["pm_c1"])
    r = company.get(f"/property/problems/{p.pk}/")
    html = r.content.decode()
    assert r.status_code == 200 and 'id="answer-form"' in html and 'id="recheck-form"' not in html
    assert 'id="cancel-form"' not in html
    assert client(w["pm_c2"]).get(f"/property/problems/{p.pk}/").status_code == 404
    r = company.post(f"/property/problems/{p.pk}/answer/", {"note": "已清理", "version": p.version,
                                                            "photos": [upload()]})
    assert r.status_code == 302
    assert Problem.objects.get(pk=p.pk).state == Problem.State.ANSWERED


def test_photos_follow_the_problems_visibility(w):
    p = problem(w, now=timezone.now())
    ph = p.photos.get(stage="found")
    for url in (f"/property/problems/photos/{ph.pk}/", f"/m/property/photos/{ph.pk}/"):
        r = client(w["pm_c1"]).get(url)
        assert r.status_code == 200 and b"".join(r.streaming_content) == photo()
        assert client(w["pm_c2"]).get(url).status_code == 404
        assert client(w["staff_c2"]).get(url).status_code == 404


def test_company_phone_lists_the_late_problem_first_and_answers(w):
    older_late = problem(w, now=timezone.now() - timedelta(days=30), code="C2", note="垃圾桶满溢")
    newer = problem(w, now=timezone.now(), code="C1", note="楼道堆物")
    done = problem(w, now=timezone.now() - timedelta(days=1), code="E2", note="消防通道停车")
    services.answer_problem(w["pm_c1"], done, note="已移车", photos=[photo()])
    problem(w, "c2", now=timezone.now() - timedelta(days=40), code="C1", note="楼道脏")
    phone = client(w["pm_c1"])
    r = phone.get("/m/property/")
    assert r.status_code == 200
    html = r.content.decode()
    order = [int(x.split('"')[0]) for x in html.split('data-problem="')[1:]]
    assert order == [older_late.pk, newer.pk, done.pk]
    first = html.split('data-problem="')[1]
    assert first.split(">")[0].count('data-late="1"') == 1 and 'data-late="1"' not in html.split('data-problem="')[2]
    r = phone.get(f"/m/property/problems/{newer.pk}/")
    html = r.content.decode()
    assert r.status_code == 200 and 'capture="environment"' in html and 'accept="image/*"' in html
    assert 'name="lon"' in html and "property_ledger.js" in html
    r = phone.post(f"/m/property/problems/{newer.pk}/answer/", {"note": "", "photos": [upload()]})
    assert r.status_code == 400 and "请写明整改情况" in r.content.decode()
    r = phone.post(f"/m/property/problems/{newer.pk}/answer/", {"note": "已清", "photos": [upload()], "lon": "116.4",
                                                               "lat": "39.9", "crs": "gcj02",
                                                               "version": newer.version})
    assert r.status_code == 302 and r["Location"] == f"/m/property/?answered={newer.pk}"
    newer.refresh_from_db()
    ph = newer.photos.get(stage="answer")
    assert newer.state == Problem.State.ANSWERED and ph.lon is not None and abs(ph.lon - 116.4) > 1e-5  # GCJ-02 → WGS 84


def test_staff_phone_lists_answers_to_recheck_and_rechecks(w):
    p = problem(w, now=timezone.now() - timedelta(hours=3))
    services.answer_problem(w["pm_c1"], p, note="已清理", photos=[photo()])
    q = problem(w, "c2", now=timezone.now() - timedelta(hours=3))
    services.answer_problem(w["pm_c2"], q, note="已清理", photos=[photo()])
    untouched = problem(w, now=timezone.now(), code="C1", note="楼道堆物")
    phone = client(w["staff_c1"])
    html = phone.get("/m/property/").content.decode()
    assert f'data-problem="{p.pk}"' in html and f'data-problem="{q.pk}"' not in html
    assert f'data-problem="{untouched.pk}"' not in html
    r = phone.get(f"/m/property/problems/{p.pk}/")
    assert r.status_code == 200 and 'id="recheck-form"' in r.content.decode()
    r = phone.post(f"/m/property/problems/{p.pk}/recheck/", {"passed": "1", "note": "已清理干净"})
    assert r.status_code == 302
    assert Problem.objects.get(pk=p.pk).state == Problem.State.PASSED
    assert f'data-problem="{p.pk}"' not in phone.get("/m/property/").content.decode()


def test_pages_refuse_those_outside(w):
    from gridgov.accounts.models import Role
    from gridgov.testing import make_user

    resident = make_user("resident1", Role.RESIDENT)
    assert client(resident).get("/property/problems/").status_code == 403
    assert client(resident).get("/m/property/").status_code == 403
    assert client(w["worker_c1"]).get("/property/problems/").status_code == 200  # list in scope: nothing there
