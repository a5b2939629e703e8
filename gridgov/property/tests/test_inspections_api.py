"""The doors of the inspections: /api/property/inspections (plan, start, deduct, submit, cancel,
the indicator set) and who may use them."""

import json
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from gridgov.property import indicators, services
from gridgov.property.models import Indicator, Inspection, Problem

from .world import photo

pytestmark = pytest.mark.django_db

API = "/api/property/inspections"


def client(user):
    c = Client()
    c.force_login(user)
    return c


def post(c, url, data=None, method="post"):
    return getattr(c, method)(url, data=json.dumps(data or {}), content_type="application/json")


def jpeg(name="p.png"):
    return SimpleUploadedFile(name, photo(), content_type="image/png")


def plan(c, w, side="c1", **extra):
    r = post(c, API, {"project": w[f"project_{side}"].pk, "planned_on": date.today().isoformat(), **extra})
    assert r.status_code == 201, r.content
    return r.json()


def test_plan_start_deduct_submit_scores_and_opens_problems(w):
    c = client(w["staff_c1"])
    insp = plan(c, w)
    assert insp["state"] == "planned" and insp["score"] == 100.0 and len(insp["breakdown"]) == 5
    r = post(c, f"{API}/{insp['id']}/start", {"lon": 116.39, "lat": 39.78})
    assert r.status_code == 200 and r.json()["state"] == "in_progress"
    r = c.post(f"{API}/{insp['id']}/deductions", {"indicator": "C1", "note": "3号楼楼道堆放纸箱", "points": "2",
                                                    "place": "3号楼", "lon": "116.391", "lat": "39.781",
                                                    "photos": [jpeg()]})
    assert r.status_code == 201, r.content
    assert r.json()["score"] == 98.0 and r.json()["deduction"]["photos"]
    # points optional: E2's step (2)
    r = c.post(f"{API}/{insp['id']}/deductions", {"indicator": "E2", "note": "消防通道停车", "photos": [jpeg()]})
    assert r.status_code == 201 and r.json()["deduction"]["points"] == 2.0
    d = c.get(API + f"/{insp['id']}").json()
    assert d["score"] == 96.0 and not d["score_final"]
    cats = {b["code"]: b for b in d["breakdown"]}
    assert cats["C"]["kept"] == 23.0 and cats["E"]["kept"] == 18.0 and cats["A"]["lost"] == 0
    photo_url = d["deductions"][0]["photos"][0]
    assert c.get(photo_url).status_code == 200
    assert client(w["staff_c2"]).get(photo_url).status_code == 404
    r = post(c, f"{API}/{insp['id']}/submit", {"version": d["version"]})
    assert r.status_code == 200, r.content
    out = r.json()
    assert out["state"] == "submitted" and out["score"] == 96.0 and out["score_final"]
    problems = Problem.objects.filter(inspection_id=insp["id"])
    assert problems.count() == 2
    assert {x["problem"]["url"] for x in out["deductions"]} == {f"/property/problems/{p.pk}/" for p in problems}
    assert Inspection.objects.get(pk=insp["id"]).score == 96
    # the company's user sees its company's inspection (not the staff list)
    pm = client(w["pm_c1"])
    assert pm.get(API).status_code == 403
    assert [i["id"] for i in pm.get(API, {"scope": "company"}).json()["items"]] == [insp["id"]]
    assert pm.get(f"{API}/{insp['id']}").json()["score"] == 96.0


def test_deduction_without_photo_or_note_is_refused(w):
    c = client(w["staff_c1"])
    insp = plan(c, w)
    r = c.post(f"{API}/{insp['id']}/deductions", {"indicator": "C1", "note": "楼道脏"})
    assert r.status_code == 400 and r.json()["code"] == "photo" and "照片" in r.json()["detail"]
    r = c.post(f"{API}/{insp['id']}/deductions", {"indicator": "C1", "note": " ", "photos": [jpeg()]})
    assert r.status_code == 400 and r.json()["code"] == "note" and "扣分原因" in r.json()["detail"]
    r = c.post(f"{API}/{insp['id']}/deductions", {"indicator": "Z9", "note": "x", "photos": [jpeg()]})
    assert r.status_code == 400 and r.json()["code"] == "indicator"
    r = c.post(f"{API}/{insp['id']}/deductions", {"indicator": "C1", "note": "x", "points": "9",
                                                    "photos": [jpeg()]})
    assert r.status_code == 400 and r.json()["code"] == "points"
    assert not Inspection.objects.get(pk=insp["id"]).deductions.exists()


def test_company_user_cannot_plan_or_see_others(w):
    staff = client(w["staff_c1"])
    mine = plan(staff, w, "c1")
    other = plan(client(w["staff_c2"]), w, "c2")
    pm = client(w["pm_c1"])
    r = post(pm, API, {"project": w["project_c1"].pk, "planned_on": date.today().isoformat()})
    assert r.status_code == 403 and r.json()["code"] == "not_allowed"
    assert pm.get(f"{API}/{other['id']}").status_code == 404
    assert post(pm, f"{API}/{mine['id']}/start").status_code == 403
    assert post(pm, f"{API}/{mine['id']}/cancel", {"reason": "x"}).status_code == 403
    items = pm.get(API, {"scope": "company"}).json()["items"]
    assert [i["id"] for i in items] == [mine["id"]]
    # staff of c1 neither see nor plan c2's
    assert [i["id"] for i in staff.get(API).json()["items"]] == [mine["id"]]
    assert staff.get(f"{API}/{other['id']}").status_code == 404
    r = post(staff, API, {"project": w["project_c2"].pk, "planned_on": date.today().isoformat()})
    assert r.status_code == 404


def test_list_filters(w):
    c = client(w["section"])
    a = plan(c, w, "c1")
    b = plan(c, w, "c2")
    post(c, f"{API}/{b['id']}/cancel", {"reason": "下雨"})
    ids = lambda **q: [i["id"] for i in c.get(API, q).json()["items"]]  # noqa: E731
    assert set(ids()) == {a["id"], b["id"]}
    assert ids(project=w["project_c1"].pk) == [a["id"]]
    assert ids(state="cancelled") == [b["id"]]
    assert set(ids(quarter=services.quarter_of(date.today()).replace("Q", "-Q"))) == {a["id"], b["id"]}
    assert ids(quarter="2001Q1") == []
    r = c.get(API, {"quarter": "bad"})
    assert r.status_code == 400 and r.json()["code"] == "quarter"


def test_submit_is_compare_and_set(w):
    c = client(w["staff_c1"])
    insp = plan(c, w, start=True, lon=116.3, lat=39.7)
    assert insp["state"] == "in_progress" and insp["kind"] == "unannounced"
    stale = insp["version"] - 1
    r = post(c, f"{API}/{insp['id']}/submit", {"version": stale})
    assert r.status_code == 409 and r.json()["code"] == "stale"
    assert Inspection.objects.get(pk=insp["id"]).state == "in_progress"
    r = post(c, f"{API}/{insp['id']}/submit", {"version": insp["version"]})
    assert r.status_code == 200 and r.json()["score"] == 100.0
    # again: already submitted
    r = post(c, f"{API}/{insp['id']}/submit", {"version": r.json()["version"]})
    assert r.status_code == 409 and r.json()["code"] == "bad_state"


def test_remove_deduction_and_cancel(w):
    c = client(w["staff_c1"])
    insp = plan(c, w)
    r = c.post(f"{API}/{insp['id']}/deductions", {"indicator": "A4", "note": "未公开", "photos": [jpeg()]})
    assert r.json()["deduction"]["points"] == 3.0 and r.json()["score"] == 97.0  # pass/fail: full marks
    did = r.json()["deduction"]["id"]
    r = c.delete(f"{API}/{insp['id']}/deductions/{did}")
    assert r.status_code == 200 and r.json()["deductions"] == [] and r.json()["score"] == 100.0
    assert c.delete(f"{API}/{insp['id']}/deductions/{did}").status_code == 404
    r = post(c, f"{API}/{insp['id']}/cancel", {"reason": ""})
    assert r.status_code == 400 and r.json()["code"] == "reason"
    r = post(c, f"{API}/{insp['id']}/cancel", {"reason": "企业停业整顿"})
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    r = c.post(f"{API}/{insp['id']}/deductions", {"indicator": "A1", "note": "x", "photos": [jpeg()]})
    assert r.status_code == 409


def test_indicators_read_and_edit_until_frozen(w):
    year = date.today().year
    r = client(w["pm_c1"]).get(f"{API}/indicators", {"year": year})
    assert r.status_code == 200
    s = r.json()
    assert s["total"] == 100.0 and not s["frozen"] and len(s["categories"]) == 5
    assert sum(len(c["indicators"]) for c in s["categories"]) == 25
    c1 = next(i for c in s["categories"] for i in c["indicators"] if i["code"] == "C1")
    c2 = next(i for c in s["categories"] for i in c["indicators"] if i["code"] == "C2")
    assert c1["criteria"] and c1["evidence"] and c1["method"] == "deduct"
    admin = client(w["admin"])
    url = f"{API}/indicators?year={year}"
    # staff without settings × update
    assert post(client(w["staff_c1"]), url, {"indicators": [{"id": c1["id"], "name": "x"}]}, "put").status_code == 403
    # breaks the total
    r = post(admin, url, {"indicators": [{"id": c1["id"], "full_marks": 6}]}, "put")
    assert r.status_code == 400 and "100" in r.json()["detail"]
    r = post(admin, url, {"indicators": [{"id": c1["id"], "full_marks": 6, "criteria": "楼道无堆物"},
                                         {"id": c2["id"], "full_marks": 4}]}, "put")
    assert r.status_code == 200, r.content
    assert Indicator.objects.get(pk=c1["id"]).full_marks == 6
    assert Indicator.objects.get(pk=c1["id"]).criteria == "楼道无堆物"
    # once an inspection of the year is submitted, the set is frozen
    staff = client(w["staff_c1"])
    insp = plan(staff, w, start=True)
    post(staff, f"{API}/{insp['id']}/submit", {"version": insp["version"]})
    assert indicators.set_for(year).frozen_at is not None
    r = post(admin, url, {"indicators": [{"id": c1["id"], "name": "楼道"}]}, "put")
    assert r.status_code == 400 and "不能再改" in r.json()["detail"]
    assert admin.get(url).json()["frozen"]
    from gridgov.accounts.models import Role
    from gridgov.testing import make_user

    assert client(make_user("res", Role.RESIDENT)).get(f"{API}/indicators").status_code == 403
