"""The dashboards' rollups against the raw rows: on random cases (months, hours, grids down to
micro-grids, items, channels, states, clocks kept and missed, breaches escalated or not,
ratings), every figure the rollups give equals the same figure computed from the cases, for a
leader, a community secretary and a grid worker, unfiltered and under each cross-filter; then
after changes through the services (new reports, ratings), which a refresh folds in."""

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridgov.accounts.models import Duty, GridAssignment, Role, User
from gridgov.cases import services
from gridgov.cases.models import Breach, Case, CaseFollower, Channel, Clock, ClockKind, ClockState, Item, Rating, State
from gridgov.cases.taxonomy import seed_taxonomy
from gridgov.insight import rollup, stats
from gridgov.insight.models import CaseRollup, RollupState
from gridgov.insight.stats import Filters
from gridgov.testing import DLAT, DLON, LAT0, LON0, make_district

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")
N = 240


def _user(username, role, node=None, duty=Duty.WORKER):
    u = User.objects.create(username=username, role=role, display_name=username)
    if node is not None:
        GridAssignment.objects.create(user=u, node=node, duty=duty)
    return u


@pytest.fixture
def world():
    """A district of two streets (so streets, communities, grids and micro-grids all count) and
    N random cases with their clocks, breaches and ratings, written as rows (no events)."""
    seed_taxonomy()
    n = make_district()
    rnd = random.Random(15)
    leaves = [n[k] for k in n if k.startswith("c") and len(k) == 6] + [n["c1g2"], n["s2c1g1"], n["c2"]]
    items = list(Item.objects.order_by("code")[:12])
    res = _user("res", Role.RESIDENT)
    cases = []
    for i in range(N):
        grid = rnd.choice(leaves)
        at = datetime(2025, rnd.randint(1, 4), rnd.randint(1, 28), rnd.randint(0, 23), rnd.randint(0, 59), tzinfo=TZ)
        cases.append(Case(number=f"T{i:05d}", channel=rnd.choice(Channel.values), text="测试", grid=grid, grid_path=grid.path,
                          item=rnd.choice(items + [None]), state=rnd.choice(State.values), reporter=res,
                          created_at=at, updated_at=at, lon=LON0, lat=LAT0))
    cases = Case.objects.bulk_create(cases)
    for c in cases:
        for kind in rnd.sample([k.value for k in ClockKind], rnd.randint(0, 3)):
            state = rnd.choice(ClockState.values)
            clock = Clock.objects.create(case=c, kind=kind, basis="wall", limit=60, started_at=c.created_at,
                                         warn_at=c.created_at, due_at=c.created_at + timedelta(hours=1), state=state)
            if state == ClockState.BREACHED:
                Breach.objects.create(case=c, clock=clock, kind=kind, due_at=clock.due_at, detected_at=clock.due_at,
                                      escalated_to=rnd.choice(["", "community_secretary"]))
        if rnd.random() < 0.3:
            Rating.objects.create(case=c, user=res, round=0, score=rnd.choice(["satisfied", "basic", "unsatisfied"]), at=c.created_at)
        CaseFollower.objects.create(case=c, user=res, at=c.created_at, source="reporter")
    return {
        **n, "res": res, "cases": cases, "items": items,
        "leader": _user("leader", Role.LEADER, n["district"], Duty.SECRETARY),
        "s1_leader": _user("s1_leader", Role.LEADER, n["street"], Duty.SECRETARY),
        "secretary": _user("sec", Role.COMMUNITY_SECRETARY, n["c1"], Duty.SECRETARY),
        "worker": _user("gw", Role.GRID_WORKER, n["c2g1"]),
    }


def _filters(w):
    item = w["items"][0].code
    return [Filters(), Filters(month="2025-02"), Filters(item=item), Filters(channel="patrol"),
            Filters(community=w["c1"].code), Filters(grid=w["c1g2"].code), Filters(month="2025-03", channel="resident"),
            Filters(community=w["c2"].code, item=item), Filters(grid=w["s2c1g1"].code), Filters(street=w["s2"].code),
            Filters(street=w["street"].code, channel="patrol")]


def _same(w, who):
    for f in _filters(w):
        got = rollup.figures(w[who], f)
        assert got is not None, (who, f)
        raw = stats.raw_figures(w[who], f)
        for key, value in got.items():
            if value is not None:
                assert value == raw[key], (who, f, key)


@pytest.mark.parametrize("who", ["leader", "s1_leader", "secretary", "worker"])
def test_every_figure_equals_the_raw_rows(world, who):
    rollup.rebuild()
    assert CaseRollup.objects.count() < N  # sums, not a copy of the cases
    _same(world, who)


def test_changes_through_the_services_are_folded_in(world):
    rollup.rebuild()
    _same(world, "leader")
    res = world["res"]
    for i in range(6):  # new reports (events) in both streets
        lon = LON0 + DLON * (0.1 if i % 2 else 1.2)
        services.submit_case(reporter=res, channel="resident", text="路灯坏了", lon=lon, lat=LAT0 + DLAT * 0.5)
    closed = [c for c in world["cases"] if c.state == State.CLOSED and not Rating.objects.filter(case=c).exists()][:5]
    for c in closed:  # ratings of old cases: their months change
        services.rate(c, res, "satisfied")
    assert rollup.refresh()  # the months of the new reports and of the rated cases
    assert rollup.refresh() == []  # nothing since
    _same(world, "leader")
    _same(world, "secretary")
    state = RollupState.objects.get()
    assert state.last_case == Case.objects.order_by("-pk").first().pk


def test_a_dashboard_read_is_never_stale(world, client):
    rollup.rebuild()
    client.force_login(world["leader"])
    before = client.get("/api/insight/stats", HTTP_HOST="127.0.0.1").json()["summary"]["total"]
    services.submit_case(reporter=world["res"], channel="resident", text="井盖丢了", lon=LON0 + DLON * 0.2, lat=LAT0 + DLAT * 0.2)
    after = client.get("/api/insight/stats", HTTP_HOST="127.0.0.1").json()
    assert after["summary"]["total"] == before + 1 == Case.objects.count()
    assert {r["key"] for r in after["by_street"]} == {world["street"].code, world["s2"].code}
    s2 = client.get(f"/api/insight/stats?street={world['s2'].code}", HTTP_HOST="127.0.0.1").json()
    assert s2["summary"]["total"] == Case.objects.filter(grid_path__startswith=world["s2"].path).count()
    page = client.get("/dashboard/", HTTP_HOST="127.0.0.1")
    assert page.status_code == 200 and 'id="c-street"' in page.content.decode()


def test_what_the_rollups_cannot_answer_is_computed_from_the_cases(world):
    rollup.rebuild()
    assert rollup.figures(world["leader"], Filters(hour=9)) is None
    assert rollup.figures(world["leader"], Filters(grid=world["c1g1m1"].code)) is None  # a micro-grid
    case = next(c for c in world["cases"] if not c.grid_path.startswith(world["c2g1"].path))
    Case.objects.filter(pk=case.pk).update(handler_user=world["worker"])  # a case the worker handles elsewhere
    assert rollup.figures(world["worker"], Filters()) is None
    data = stats.dashboard(world["worker"], Filters())
    assert data["summary"]["total"] == Case.objects.visible_to(world["worker"]).count()


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_at_once_never_count_a_month_twice(world):
    """Concurrent recomputations of a month (two workers, or a worker and a dashboard read) take
    turns on the state row: the month ends up summed once."""
    from gridgov.testing import race

    rollup.rebuild()
    results = race(lambda i: rollup.compute_month("2025-02"), 4)
    assert not [r for r in results if isinstance(r, Exception)], results
    _same(world, "leader")
