"""The inspections' pages: the staff list, plan form and inspection page, the indicator system
page, and the phone's walk (unannounced visit, deduction with a photo, submit)."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from gridgov.property import indicators, services
from gridgov.property.models import Indicator, Inspection, Problem

from .world import inspection, photo

pytestmark = pytest.mark.django_db


def client(user):
    c = Client()
    c.force_login(user)
    return c


def upload():
    return SimpleUploadedFile("p.png", photo(), content_type="image/png")


def test_staff_list_plan_and_page_show_score_and_problems(w):
    insp = inspection(w, deductions=[("C1", 2, "楼道堆放纸箱"), ("E2", None, "消防通道停车")])
    c = client(w["staff_c1"])
    r = c.get("/property/inspections/")
    assert r.status_code == 200
    html = r.content.decode()
    assert f'data-inspection="{insp.pk}"' in html and "96" in html and 'id="plan"' in html
    r = c.get("/property/inspections/", {"state": "cancelled"})
    assert f'data-inspection="{insp.pk}"' not in r.content.decode()
    r = c.get("/property/inspections/", {"quarter": "nonsense"})
    assert r.status_code == 200 and "YYYY-QN" in r.content.decode()
    # the page: score, breakdown, deductions with photos and their problems, history
    r = c.get(f"/property/inspections/{insp.pk}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-score="96.00"' in html and 'data-category="C"' in html
    for p in Problem.objects.filter(inspection=insp):
        assert f'href="/property/problems/{p.pk}/"' in html and p.number in html
    photo_pk = insp.deductions.first().photos.first().pk
    assert f"/property/inspections/photos/{photo_pk}/" in html
    assert c.get(f"/property/inspections/photos/{photo_pk}/").status_code == 200
    assert client(w["staff_c2"]).get(f"/property/inspections/photos/{photo_pk}/").status_code == 404
    assert client(w["staff_c2"]).get(f"/property/inspections/{insp.pk}/").status_code == 404
    # the company's user reads its company's list and page, without the plan form
    pm = client(w["pm_c1"])
    r = pm.get("/property/inspections/")
    assert r.status_code == 200 and f'data-inspection="{insp.pk}"' in r.content.decode()
    assert 'id="plan"' not in r.content.decode()
    assert pm.get(f"/property/inspections/{insp.pk}/").status_code == 200
    # plan from the form, then cancel it
    r = c.post("/property/inspections/plan/", {"project": w["project_c1"].pk, "planned_on": "2026-05-06",
                                               "kind": "scheduled", "by": "expert"})
    assert r.status_code == 400 and "专家姓名" in r.content.decode()
    r = c.post("/property/inspections/plan/", {"project": w["project_c1"].pk, "planned_on": "2026-05-06",
                                               "kind": "scheduled", "by": "expert", "expert_name": "李工"})
    planned = Inspection.objects.get(expert_name="李工")
    assert r.status_code == 302 and r["Location"] == f"/property/inspections/{planned.pk}/"
    assert planned.quarter == "2026Q2" and planned.state == "planned"
    assert pm.post("/property/inspections/plan/", {"project": w["project_c1"].pk,
                                                   "planned_on": "2026-05-06"}).status_code == 403
    r = c.post(f"/property/inspections/{planned.pk}/cancel/", {"reason": "专家改期"})
    assert r.status_code == 302
    planned.refresh_from_db()
    assert planned.state == "cancelled"


def test_indicator_page_edits_until_frozen(w):
    year = date.today().year
    s = indicators.set_for(year)
    url = f"/property/inspections/indicators/?year={year}"
    r = client(w["staff_c1"]).get(url)
    assert r.status_code == 200 and "indicators-form" not in r.content.decode()
    html = r.content.decode()
    assert "100" in html and 'data-indicator="C1"' in html and "楼道、楼梯、扶手干净" in html
    admin = client(w["admin"])
    assert 'id="indicators-form"' in admin.get(url).content.decode()
    c1 = Indicator.objects.get(category__indicator_set=s, code="C1")
    c2 = Indicator.objects.get(category__indicator_set=s, code="C2")
    r = admin.post(url, {"year": year, f"{c1.pk}-full_marks": "7"})
    assert r.status_code == 400 and "100" in r.content.decode()
    assert 'value="7"' in r.content.decode()  # the typed value is shown again
    r = admin.post(url, {"year": year, f"{c1.pk}-full_marks": "6", f"{c2.pk}-full_marks": "4",
                         f"{c1.pk}-evidence": "现场照片、保洁记录"})
    assert r.status_code == 302
    c1.refresh_from_db()
    assert c1.full_marks == 6 and c1.evidence == "现场照片、保洁记录"
    inspection(w)  # submitted: the year's set is frozen
    r = admin.get(url)
    assert 'id="indicators-form"' not in r.content.decode() and 'data-frozen="1"' in r.content.decode()
    assert admin.post(url, {"year": year, f"{c1.pk}-name": "x"}).status_code == 403


def test_phone_walk_unannounced_deduct_submit(w):
    c = client(w["staff_c1"])
    r = c.get("/m/property/inspections/")
    assert r.status_code == 200 and w["project_c1"].name in r.content.decode()
    assert w["project_c2"].name not in r.content.decode()
    r = c.post("/m/property/inspections/unannounced/", {"project": w["project_c1"].pk, "lon": "116.39",
                                                        "lat": "39.78", "crs": "wgs84"})
    insp = Inspection.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/m/property/inspections/{insp.pk}/"
    assert insp.kind == "unannounced" and insp.state == "in_progress" and insp.lat == pytest.approx(39.78)
    r = c.get(f"/m/property/inspections/{insp.pk}/")
    html = r.content.decode()
    assert html.count('class="stack deduct"') == 25 and 'capture="environment"' in html
    # without a photo: refused, said plainly
    r = c.post(f"/m/property/inspections/{insp.pk}/deductions/", {"indicator": "C2", "note": "桶站满溢"})
    assert r.status_code == 400 and "扣分须附现场照片" in r.content.decode()
    r = c.post(f"/m/property/inspections/{insp.pk}/deductions/", {"indicator": "C2", "note": "桶站满溢",
                                                                  "points": "abc", "photos": upload()})
    assert r.status_code == 400 and "扣分须为数字" in r.content.decode()
    r = c.post(f"/m/property/inspections/{insp.pk}/deductions/", {"indicator": "C2", "note": "桶站满溢",
                                                                  "points": "3", "place": "北门",
                                                                  "photos": upload()})
    assert r.status_code == 302
    r = c.get(f"/m/property/inspections/{insp.pk}/")
    assert 'data-score="97.00"' in r.content.decode()
    insp.refresh_from_db()
    r = c.post(f"/m/property/inspections/{insp.pk}/submit/", {"version": insp.version})
    assert r.status_code == 302
    insp.refresh_from_db()
    assert insp.state == "submitted" and insp.score == 97
    assert Problem.objects.get(inspection=insp).place == "北门"
    r = c.get(f"/m/property/inspections/{insp.pk}/")
    assert 'data-score="97.00"' in r.content.decode() and 'class="stack deduct"' not in r.content.decode()
    # the company's user has no walk
    assert client(w["pm_c1"]).get("/m/property/inspections/").status_code == 403
    assert services.inspection_score(insp) == 97
