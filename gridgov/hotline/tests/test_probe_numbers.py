"""The security probe's numbers (issue 16, item 9 and the same hole elsewhere): a project budget
of 1e20 or -1 went in through the API while the form refused it; a rate setting's minimum
sample of 10¹² (beyond the column: a server error on PostgreSQL); NaN and Infinity in the map's
bounds and in /api/geo/locate (answered with NaN in the JSON, which is no JSON). One check per
value, in the service, used by every door."""

import json
from decimal import Decimal

import pytest
from django.test import Client

from gridgov.accounts.models import GridAssignment, Role, User
from gridgov.hotline import services
from gridgov.hotline.models import ProactiveProject, RateSettings

HX = {"HX-Request": "true"}


def login(role, node=None):
    u = User.objects.create(username=f"u_{role}", role=role, display_name=role)
    if node is not None:
        GridAssignment.objects.create(user=u, node=node, duty="staff")
    c = Client(raise_request_exception=False)
    c.force_login(u)
    return c


BAD_BUDGETS = [1e20, -1, "1e20", "-0.01", 1e10, "10000000000", "9999999999.995", "1e400"]


@pytest.mark.parametrize("budget", BAD_BUDGETS + ["NaN", "Infinity", "-Infinity"])
def test_the_api_refuses_a_budget_the_form_refuses(street, budget):
    c = login(Role.COMMUNITY_SECRETARY, street["c1"])
    body = {"title": "屋顶防水", "grid": street["c1g1"].code, "budget": budget}
    r = c.post("/api/hotline/projects", json.dumps(body), content_type="application/json")
    assert r.status_code == 422, r.content
    assert not ProactiveProject.objects.exists()
    form = {"title": "屋顶防水", "grid": street["c1g1"].code, "budget": str(budget)}
    out = c.post("/hotline/projects/new/", form, headers=HX).content.decode()
    assert "预算请填写" in out and not ProactiveProject.objects.exists()


@pytest.mark.parametrize("budget, stored", [(120000.5, "120000.50"), ("0", "0.00"), ("9999999999.99", "9999999999.99"),
                                            ("0.001", "0.00"), (None, None)])
def test_a_budget_in_range_is_taken_rounded_to_the_fen(street, budget, stored):
    c = login(Role.COMMUNITY_SECRETARY, street["c1"])
    r = c.post("/api/hotline/projects", json.dumps({"title": "屋顶防水", "grid": street["c1g1"].code, "budget": budget}),
               content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["budget"] == stored
    p = ProactiveProject.objects.get()
    assert (str(p.budget) if p.budget is not None else None) == stored


def test_the_one_budget_check():
    assert services.clean_budget("") is None and services.clean_budget(None) is None
    assert services.clean_budget(" 120000 ") == Decimal("120000.00")
    for bad, kind in [("十二万", "number"), (True, "number"), ("sNaN", "range"), ("-1", "range"), (Decimal("1e30"), "range")]:
        with pytest.raises(services.BudgetError) as e:
            services.clean_budget(bad)
        assert e.value.kind == kind and isinstance(e.value, services.ProjectError)


def test_rate_settings_min_sample_is_bounded(street):
    c = login(Role.ADMIN)
    for body in ({"min_sample": 10**12}, {"min_sample": -1}, {"min_sample": services.MIN_SAMPLE_LIMIT + 1}):
        r = c.put("/api/hotline/settings", json.dumps(body), content_type="application/json")
        assert r.status_code == 422, (body, r.content)
    assert RateSettings.current().min_sample == 10
    r = c.put("/api/hotline/settings", json.dumps({"min_sample": 25}), content_type="application/json")
    assert r.status_code == 200 and r.json()["min_sample"] == 25


@pytest.mark.parametrize("bbox", ["nan,nan,nan,nan", "inf,-inf,inf,-inf", "1e400,0,0,0", "0,0,0,NaN"])
@pytest.mark.parametrize("layer", ["grids", "workers", "buildings", "keypop", "tickets", "places", "cases"])
def test_map_bounds_must_be_finite(street, bbox, layer):
    c = login(Role.LEADER)
    r = c.get(f"/api/insight/layers/{layer}", {"bbox": bbox})
    assert r.status_code == 422 and "bbox" in r.json()["detail"]


@pytest.mark.parametrize("q", [{"lon": "nan", "lat": "nan"}, {"lon": "inf", "lat": "1"}, {"lon": "1e400", "lat": "0"},
                               {"lon": "116.39", "lat": "-Infinity", "crs": "gcj02"}])
def test_locate_refuses_non_finite_coordinates(street, q):
    r = login(Role.RESIDENT).get("/api/geo/locate", q)
    assert r.status_code == 422
    json.loads(r.content)  # strict JSON (no NaN)
