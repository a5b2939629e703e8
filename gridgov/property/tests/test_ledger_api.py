"""The ledger's API (/api/property/problems): filters, detail with photos by stage, answer,
re-check and cancel with compare-and-set, photos behind the problem's visibility, and who sees
what (another company's user and another community's staff: 404)."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from gridgov.property import services
from gridgov.property.models import Problem

from .ledger_helpers import at, client, problem
from .world import photo

pytestmark = pytest.mark.django_db
API = "/api/property/problems"


@pytest.fixture(autouse=True)
def scratch_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def jpeg(name="a.png"):
    return SimpleUploadedFile(name, photo(), content_type="image/png")


def test_another_company_and_another_community_get_404(w):
    p = problem(w, now=timezone.now() - timedelta(days=1))
    ph = p.photos.get()
    for user in (w["pm_c2"], w["staff_c2"]):
        c = client(user)
        assert c.get(f"{API}/{p.pk}").status_code == 404
        assert c.get(f"{API}/photos/{ph.pk}").status_code == 404
        assert c.get(API).json()["items"] == []
        r = c.post(f"{API}/{p.pk}/answer", {"note": "已清理", "photos": [jpeg()]})
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        r = c.post(f"{API}/{p.pk}/recheck", {"passed": "true"})
        assert r.status_code == 404
        r = c.post(f"{API}/{p.pk}/cancel", {"reason": "误登"}, content_type="application/json")
        assert r.status_code == 404
    p.refresh_from_db()
    assert p.state == Problem.State.OPEN and p.version == 1
    for user in (w["pm_c1"], w["staff_c1"]):
        c = client(user)
        r = c.get(f"{API}/{p.pk}")
        assert r.status_code == 200 and r.json()["number"] == p.number
        photo_resp = c.get(r.json()["photos"]["found"][0]["url"])
        assert photo_resp.status_code == 200 and b"".join(photo_resp.streaming_content) == photo()


def test_answer_then_recheck_fail_through_the_api(w):
    p = problem(w, now=timezone.now() - timedelta(hours=1))
    company, staff = client(w["pm_c1"]), client(w["staff_c1"])
    r = staff.post(f"{API}/{p.pk}/answer", {"note": "已清理", "photos": [jpeg()]})
    assert r.status_code == 403  # staff do not answer for the company
    r = company.post(f"{API}/{p.pk}/answer", {"note": "已清理", "lon": "116.40", "lat": "39.90", "version": "1"})
    assert r.status_code == 400 and r.json()["code"] == "photo"
    r = company.post(f"{API}/{p.pk}/answer", {"note": "已清理", "photos": [jpeg()], "version": "7"})
    assert r.status_code == 409 and r.json()["code"] == "stale"
    r = company.post(f"{API}/{p.pk}/answer", {"note": "已清理", "photos": [jpeg()], "lon": "116.40", "lat": "39.90",
                                              "version": "1"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["state"] == "answered" and len(body["photos"]["answer"]) == 1 and body["photos"]["answer"][0]["lon"]
    assert body["may_answer"] is False and [e["action"] for e in body["events"]] == ["open", "answer"]
    assert staff.get(f"{API}/{p.pk}").json()["may_recheck"] is True
    r = company.post(f"{API}/{p.pk}/recheck", {"passed": "true"})
    assert r.status_code == 403
    r = staff.post(f"{API}/{p.pk}/recheck", {"passed": "false", "note": "", "version": str(body["version"])})
    assert r.status_code == 400 and r.json()["code"] == "note"
    r = staff.post(f"{API}/{p.pk}/recheck", {"passed": "false", "note": "仍有满溢", "days": "99",
                                             "version": str(body["version"])})
    assert r.status_code == 400 and r.json()["code"] == "days"
    r = staff.post(f"{API}/{p.pk}/recheck", {"passed": "false", "note": "仍有满溢", "days": "2",
                                             "version": str(body["version"]), "photos": [jpeg()]})
    assert r.status_code == 200, r.content
    out = r.json()
    assert out["state"] == "open" and out["reopen_count"] == 1 and out["days"] == 2
    assert len(out["photos"]["recheck"]) == 1 and out["clock"]["open"] is True


def test_cancel_compare_and_set(w):
    p = problem(w, now=timezone.now())
    staff = client(w["staff_c1"])
    r = client(w["pm_c1"]).post(f"{API}/{p.pk}/cancel", {"reason": "误登"}, content_type="application/json")
    assert r.status_code == 403
    r = staff.post(f"{API}/{p.pk}/cancel", {"reason": "误登", "version": 5}, content_type="application/json")
    assert r.status_code == 409 and r.json()["code"] == "stale"
    r = staff.post(f"{API}/{p.pk}/cancel", {"reason": "误登", "version": 1}, content_type="application/json")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    r = staff.post(f"{API}/{p.pk}/cancel", {"reason": "再撤"}, content_type="application/json")
    assert r.status_code == 409 and r.json()["code"] == "bad_state"


def test_list_filters_as_the_board_links_them(w):
    q3 = at(2026, 7, 8, 10)
    late = problem(w, now=q3, code="C2", note="垃圾桶满溢")
    services.escalate_late(late.due_at + timedelta(hours=2))
    reopened = problem(w, now=q3 + timedelta(days=1), code="C1", note="楼道堆物")
    reopened = services.answer_problem(w["pm_c1"], reopened, note="已清", photos=[photo()],
                                       now=q3 + timedelta(days=1, hours=1))
    reopened = services.recheck_problem(w["staff_c1"], reopened, passed=False, note="未清完",
                                        now=q3 + timedelta(days=1, hours=2))
    services.answer_problem(w["pm_c1"], reopened, note="清完了", photos=[photo()], now=q3 + timedelta(days=1, hours=3))
    in_time = problem(w, now=q3 + timedelta(days=2), code="E2", note="消防通道停车")
    services.answer_problem(w["pm_c1"], in_time, note="已移车", photos=[photo()], now=q3 + timedelta(days=2, hours=1))
    other_quarter = problem(w, now=at(2026, 4, 8, 10), code="C1", note="楼道脏")
    other_project = problem(w, "c2", now=q3, code="C1", note="楼道脏")
    staff = client(w["section"])
    project = w["project_c1"].pk

    def numbers(query):
        r = staff.get(f"{API}?{query}")
        assert r.status_code == 200, r.content
        return {row["number"] for row in r.json()["items"]}

    assert numbers(f"project={project}&quarter=2026Q3") == {late.number, reopened.number, in_time.number}
    assert numbers(f"project={project}&quarter=2026-Q3&late=1") == {late.number}
    assert numbers(f"project={project}&quarter=2026Q3&reopened=1") == {reopened.number}
    assert numbers("escalation=1") == {late.number}
    assert numbers(f"project={project}&state=answered") == {in_time.number, reopened.number}
    assert numbers("category=E") == {in_time.number}
    assert other_quarter.number in numbers(f"project={project}&quarter=2026Q2")
    assert other_project.number in numbers(f"project={w['project_c2'].pk}")
    body = staff.get(f"{API}?project={project}&quarter=2026Q3&state=open").json()
    assert body["counts"]["open"] == 1 and body["counts"]["answered"] == 2 and body["count"] == 1
    row = next(r for r in body["items"] if r["number"] == late.number)
    assert row["clock"]["late"] is True and row["clock"]["hours_left"] < 0 and row["escalation"] == 1
    r = staff.get(f"{API}?quarter=2026-5")
    assert r.status_code == 400 and r.json()["code"] == "quarter"


def test_anonymous_is_refused(w):
    from django.test import Client

    p = problem(w, now=timezone.now())
    assert Client().get(f"{API}/{p.pk}").status_code in (401, 403)
