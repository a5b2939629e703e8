"""The demo year of the property alliance (property.demo.build_demo_property): four quarters of
inspections through the services, the ledger in every state, residents' reports of the 物业
items, the finished quarters published with rankings that move; the same seed gives the same
year and a rebuild replaces the last one."""

from datetime import datetime

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.cases.models import Case, Rating
from gridgov.property import scores
from gridgov.property.demo import EXPERT_ORG, build_demo_property
from gridgov.property.models import Deduction, IndicatorSet, Inspection, Problem, ProblemEvent, ScoreSnapshot
from gridgov.registry import services as reg
from gridgov.testing import DLAT, DLON, LAT0, LON0, make_property_company, make_user

#: the demo's "now": the year is 2025Q3..2026Q2, the first three finished
AT = timezone.make_aware(datetime(2026, 5, 20, 12, 0))
QUARTERS = ["2025Q3", "2025Q4", "2026Q1", "2026Q2"]


def _centre(ci, gi, mi):
    """The centre of micro-grid c{ci}g{gi}m{mi} of the small street (gridgov.testing)."""
    mx0 = LON0 + (ci - 1) * DLON / 2 + (mi - 1) * DLON / 4
    gy1 = LAT0 + DLAT - (gi - 1) * DLAT / 2
    return mx0 + DLON / 8, gy1 - DLAT / 4


@pytest.fixture
def demo(w):
    """The property world, its buildings placed, two more projects, residents with a login
    and the case taxonomy (the 物业 items need its scenario)."""
    from gridgov.cases.taxonomy import seed_taxonomy
    from gridgov.demo.departments import seed_property_items

    seed_taxonomy()
    seed_property_items()
    street = w["street"]
    for side, (ci, gi, mi) in (("c1", (1, 1, 1)), ("c2", (2, 1, 1))):
        lon, lat = _centre(ci, gi, mi)
        w[f"compound_{side}"].buildings.update(lon=lon, lat=lat)
    for name, (ci, gi, mi) in (("c1东", (1, 2, 2)), ("c2西", (2, 2, 1))):
        c = street[f"c{ci}"]
        compound = reg.create_compound(name=f"{name}苑", community=c, grid=c)
        lon, lat = _centre(ci, gi, mi)
        reg.create_building(compound=compound, name="3号楼", grid=street[f"c{ci}g{gi}m{mi}"], lon=lon, lat=lat)
        make_property_company(f"{name}物业", [compound], grid=c)  # no user yet: the demo makes one
    for k in range(3):
        make_user(f"jumin{k}", Role.RESIDENT)
    return w


def signature():
    return (sorted(Inspection.objects.values_list("project__name", "kind", "by", "state", "planned_on", "score")),
            sorted(Problem.objects.values_list("number", "state", "reopen_count", "escalation", "was_late")),
            sorted(ScoreSnapshot.objects.values_list("quarter", "project__name", "composite", "rank")))


def test_a_year_of_the_alliance(demo):
    counts = build_demo_property(seed=5, now=AT)
    projects = list(demo["project_c1"].__class__.objects.order_by("id"))
    assert len(projects) == 4

    # four quarters of inspections: one scheduled per project and quarter (the current
    # quarter's still ahead are planned), unannounced visits, some by an outside expert
    done = Inspection.objects.filter(state=Inspection.State.SUBMITTED)
    assert sorted(set(done.values_list("quarter", flat=True))) == QUARTERS
    for q in QUARTERS:
        for p in projects:
            n = Inspection.objects.filter(project=p, quarter=q, kind=Inspection.Kind.SCHEDULED).count()
            assert n == 1, (q, p)
    assert done.filter(kind=Inspection.Kind.UNANNOUNCED).exists()
    experts = done.filter(by=Inspection.By.EXPERT)
    assert experts.exists() and all(i.expert_name and i.expert_org == EXPERT_ORG for i in experts)
    assert not done.filter(submitted_at__gt=AT).exists()
    assert all(i.planned_on >= AT.date() for i in Inspection.objects.filter(state=Inspection.State.PLANNED))
    assert IndicatorSet.objects.get(year=2025).frozen_at is not None

    # deductions on real indicators, each with a photo, a note and a place; each a problem
    assert counts["property_deductions"] == Deduction.objects.count() > 0
    for d in Deduction.objects.select_related("indicator"):
        assert d.photos.exists() and d.note and d.place and d.lon is not None
        assert d.indicator.code[0] in "ABCDE" and 0 < d.points <= d.indicator.full_marks
        assert d.problem.indicator_id == d.indicator_id
    # the inspection's score is 100 less what it lost
    for i in done:
        lost = sum(d.points for d in i.deductions.all())
        assert i.score == 100 - lost

    # the ledger in every state at the end, with reopened, escalated (to the street too), late ones
    for state in Problem.State.values:
        assert counts[f"property_problems_{state}"] == Problem.objects.filter(state=state).count() > 0, state
    assert counts["property_problems_late_open"] == Problem.objects.late(AT).count() > 0
    reopened = Problem.objects.filter(reopen_count__gt=0)
    assert counts["property_reopened"] == reopened.count() > 0
    assert all(p.events.filter(action="fail").exists() for p in reopened)
    assert reopened.filter(state=Problem.State.PASSED).exists()  # failed, reopened, then passed
    escalated = Problem.objects.filter(events__action="escalate").distinct()
    assert counts["property_escalated"] == escalated.count() > 0
    assert ProblemEvent.objects.filter(action="escalate", data__level=2).exists()
    assert Problem.objects.filter(state=Problem.State.PASSED, was_late=True).exists()  # answered late
    assert Problem.objects.filter(state=Problem.State.PASSED, was_late=False, reopen_count=0).exists()  # in time
    assert not ProblemEvent.objects.filter(at__gt=AT).exists()
    # the answers are the company's (a user made for the companies without one)
    for e in ProblemEvent.objects.filter(action="answer").select_related("actor", "problem__project__company__department"):
        assert e.actor.role == Role.PROPERTY_STAFF and e.actor.department == e.problem.project.company.department.name

    # residents' reports of the 物业 items in the compounds, some closed and rated, backdated
    cases = Case.objects.filter(item__department="物业", compound__isnull=False)
    assert counts["property_alliance_cases"] == cases.count() > 0  # ("property_cases" is the departments demo's)
    assert cases.filter(state="closed").exists() and Rating.objects.filter(case__in=cases).exists()
    assert not Rating.objects.filter(at__gt=AT).exists()
    assert not cases.filter(created_at__gt=AT).exists()

    # the finished quarters published; the rankings move
    assert counts["property_scores_published"] == ScoreSnapshot.objects.count() == 3 * len(projects)
    assert sorted(set(ScoreSnapshot.objects.values_list("quarter", flat=True))) == QUARTERS[:3]
    orders = [list(scores.published(q).values_list("project_id", flat=True)) for q in QUARTERS[:3]]
    assert len({tuple(o) for o in orders}) > 1
    # what was published is what the scores give (recomputed from history)
    for q in QUARTERS[:3]:
        rows = {r["project"]: r for r in scores.compute(q, trend=False)}
        for s in scores.published(q):
            assert (s.composite, s.rank) == (rows[s.project_id]["composite"], rows[s.project_id]["rank"])
        # the residents' reports count in the data score
        assert sum(r["parts"]["complaints"]["cases"] for r in rows.values()) > 0


def test_same_seed_same_year_and_a_rebuild_replaces_it(demo):
    a = build_demo_property(seed=5, now=AT)
    sig_a = signature()
    cases_a = Case.objects.count()
    b = build_demo_property(seed=5, now=AT)
    assert a == b and signature() == sig_a
    assert Case.objects.count() == cases_a  # the demo's reports replaced, not added
    c = build_demo_property(seed=6, now=AT)
    assert signature() != sig_a and c["property_inspections"] == Inspection.objects.filter(state="submitted").count()


def test_an_empty_street_gets_nothing(db):
    counts = build_demo_property(seed=5, now=AT)
    assert counts["property_inspections"] == counts["property_problems"] == 0
    assert not Inspection.objects.exists()
