"""The demo cases: consistent histories, clocks and breaches, at a small scale; reports that
came in elsewhere (12345 tickets: `Intake`) reach the outcome they are known to have had."""

import random
import uuid
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridgov.accounts.models import Duty, GridAssignment, Role, User
from gridgov.cases.demo import Intake, build_demo_cases
from gridgov.cases.models import OPEN_STATES, Breach, Case, CaseEvent, Clock, ClockState, Item, Rating, State
from gridgov.cases.services import TRANSITIONS


def staff(username, role, nodes=(), duty=Duty.WORKER):
    """A user who never logs in here (no password hashing: it is slow on purpose)."""
    u = User.objects.create(username=username, role=role, display_name=username)
    for n in nodes:
        GridAssignment.objects.create(user=u, node=n, duty=duty)
    return u

UNTIL = datetime(2025, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def demo_cases(street):
    for g in ("c1g1", "c1g2", "c2g1"):  # c2g2 has no grid leader: its cases go to the community
        staff(f"gl_{g}", Role.GRID_LEADER, [street[g]], duty=Duty.LEADER)
        staff(f"gw_{g}", Role.GRID_WORKER, [street[g]])
    for c in ("c1", "c2"):
        staff(f"sec_{c}", Role.COMMUNITY_SECRETARY, [street[c]], duty=Duty.SECRETARY)
        staff(f"staff_{c}", Role.COMMUNITY_STAFF, [street[c]], duty=Duty.STAFF)
    staff("lead", Role.LEADER)
    for i in range(3):
        staff(f"res{i}", Role.RESIDENT)
    staff("vol", Role.VOLUNTEER)
    counts = build_demo_cases(seed=7, months=3, scale=0.05, until=UNTIL, intakes=make_intakes(street))
    return counts


def make_intakes(street, n=80):
    """Hotline reports over the six months before UNTIL (the cases cover three): recognised or
    left for a person, solved (3 in 4) or not; the last few minutes before UNTIL, one after."""
    from gridgov.cases.taxonomy import seed_taxonomy

    seed_taxonomy()
    items = list(Item.objects.order_by("code"))
    leaves = [street[k] for k in sorted(street) if "m" in k]
    rng = random.Random(3)
    out = []
    for k in range(n + 1):
        leaf, item = leaves[k % len(leaves)], items[k % len(items)]
        at = UNTIL - (timedelta(minutes=n + 10 - k) if k >= n - 4 else timedelta(days=rng.uniform(1, 180)))
        if k == n:
            at = UNTIL + timedelta(hours=1)
        recognised = k % 3 != 0
        reason = ({"code": item.code, "name": item.name, "source": "classifier", "confidence": 0.8} if recognised
                  else {"code": None, "source": "classifier", "confidence": 0.2, "note": "置信度不足，待人工分类"})
        out.append(Intake(
            ref=k, key=uuid.uuid5(uuid.NAMESPACE_URL, f"t{k}"), created=at, text=f"{item.name}，已经好几天了（{k}）",
            address=f"{leaf.name}内", lon=leaf.center_lon, lat=leaf.center_lat, grid_id=leaf.pk,
            item=item if recognised else None, item_source="classifier" if recognised else "",
            item_confidence=0.8 if recognised else 0.2, item_reason=reason, staff_item=item, solved=k % 4 != 0,
        ))
    return out


def test_demo_cases_are_consistent(demo_cases):
    n = Case.objects.count()
    assert demo_cases["cases"] == n and 200 < n < 480
    assert demo_cases["hotline_cases"] == 80 == Case.objects.filter(channel="hotline").count()
    assert Case.objects.filter(created_at__gt=UNTIL).count() == 0
    # every case has exactly one submit event, first, at its creation
    submits = Counter(CaseEvent.objects.filter(action="submit").values_list("case_id", flat=True))
    assert set(submits) == set(Case.objects.values_list("id", flat=True)) and set(submits.values()) == {1}
    by_case = {}
    for e in CaseEvent.objects.order_by("id"):
        by_case.setdefault(e.case_id, []).append(e)
    for c in Case.objects.all():
        evs = by_case[c.pk]
        assert evs[0].action == "submit" and evs[0].at == c.created_at
        assert [e.at for e in evs] == sorted(e.at for e in evs), c.number
        # the chain of states is continuous and every transition is allowed
        state = State.SUBMITTED
        for e in evs[1:]:
            assert e.from_state == state, (c.number, e.action, e.from_state, state)
            if e.to_state != e.from_state:
                assert e.from_state in TRANSITIONS[e.action][0], (e.action, e.from_state)
                assert TRANSITIONS[e.action][1] == e.to_state
            state = e.to_state
        assert state == c.state, c.number
        assert c.number.startswith(c.created_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d"))
        if c.state == State.CLOSED:
            assert [e for e in evs if e.action == "close"][-1].at == c.closed_at
            assert c.resolved_at and c.resolved_by_id and c.verified_by_id
        clocks = list(Clock.objects.filter(case=c))
        live = [k for k in clocks if k.state in (ClockState.RUNNING, ClockState.WARNED)]
        if c.state not in OPEN_STATES:
            assert live == [], c.number  # a case no longer open has no running clock
        for k in live:
            assert k.due_at > UNTIL and k.started_at <= UNTIL  # the sweep would have breached it
        for k in clocks:
            assert k.warn_at <= k.due_at and k.started_at <= k.warn_at
            if k.state == ClockState.BREACHED:
                assert k.breach.detected_at >= k.due_at
    states = Counter(Case.objects.values_list("state", flat=True))
    assert states[State.CLOSED] > n * 0.6
    assert sum(states[s] for s in OPEN_STATES) > 0
    assert Breach.objects.count() > 0 and Breach.objects.exclude(escalated_to="").exists()
    assert CaseEvent.objects.filter(action="escalate").count() >= Breach.objects.exclude(escalated_to="").count()
    assert Rating.objects.count() > 0
    assert set(Case.objects.values_list("channel", flat=True)) == {"resident", "volunteer", "patrol", "hotline", "api"}
    # breaches match their clocks
    for b in Breach.objects.select_related("clock"):
        assert b.clock.state == ClockState.BREACHED and b.clock.case_id == b.case_id and b.kind == b.clock.kind


def test_intakes_reach_the_outcome_they_had(street):
    for g in ("c1g1", "c1g2", "c2g1"):
        staff(f"gl_{g}", Role.GRID_LEADER, [street[g]], duty=Duty.LEADER)
    # c2g2 has no grid leader: a street leader co-leads its community (as in the demo street),
    # so every path has a handler and every solved report can be resolved
    staff("colead", Role.LEADER, [street["c2"]], duty=Duty.LEADER)
    for c in ("c1", "c2"):
        staff(f"sec_{c}", Role.COMMUNITY_SECRETARY, [street[c]], duty=Duty.SECRETARY)
        staff(f"staff_{c}", Role.COMMUNITY_STAFF, [street[c]], duty=Duty.STAFF)
    staff("vol", Role.VOLUNTEER)
    intakes = make_intakes(street)
    build_demo_cases(seed=5, months=3, scale=0.05, until=UNTIL, intakes=intakes)
    later = intakes.pop()
    assert later.case_id is None  # after `until`: no case
    cases = Case.objects.in_bulk([i.case_id for i in intakes])
    assert len(cases) == len(intakes) == Case.objects.filter(channel="hotline").count()
    resolved = set(CaseEvent.objects.filter(action="resolve").values_list("case_id", flat=True))
    for i in intakes:
        c = cases[i.case_id]
        assert (c.channel, c.idempotency_key, c.created_at, c.text, c.grid_id, c.reporter_id) == (
            "hotline", i.key, i.created, i.text, i.grid_id, None)
        assert c.item == (i.item or i.staff_item) or c.state == State.REJECTED
        assert c.item_source == ("classifier" if i.item else "staff") or c.state == State.REJECTED
        if i.solved:  # resolved before `until`, even when it came in minutes before
            assert c.state in (State.RESOLVED, State.VERIFIED, State.CLOSED), (i.ref, c.state)
            assert c.resolved_at <= UNTIL
        else:  # never resolved: handed back and rejected, or still open
            assert c.pk not in resolved and (c.state == State.REJECTED or c.state in OPEN_STATES), (i.ref, c.state)
    states = Counter(cases[i.case_id].state for i in intakes if not i.solved)
    assert states[State.REJECTED] >= len([i for i in intakes if not i.solved]) - 3
    last = cases[intakes[-1].case_id]  # solved, came in 11 minutes before `until`
    assert intakes[-1].solved and last.created_at == UNTIL - timedelta(minutes=11) and last.resolved_at <= UNTIL
    assert not Rating.objects.filter(case__channel="hotline").exists()  # nobody follows a hotline case


def test_demo_cases_are_deterministic(demo_cases, street):
    first = list(Case.objects.order_by("id").values_list("number", "state", "item__code", "lon", "idempotency_key"))
    Case.objects.all().delete()
    build_demo_cases(seed=7, months=3, scale=0.05, until=UNTIL, intakes=make_intakes(street))
    again = list(Case.objects.order_by("id").values_list("state", "item__code", "lon", "idempotency_key"))
    assert [r[1:] for r in first] == again
