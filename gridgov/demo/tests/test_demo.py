import json
import random
from io import StringIO

import pytest
import shapely
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.utils import timezone

from gridgov.accounts.models import Duty, GridAssignment, User
from gridgov.core import crypto
from gridgov.core.validators import id_gender, id_number_error
from gridgov.demo import builder, names
from gridgov.geo.models import GridNode
from gridgov.cases.models import Case
from gridgov.geo.spatial import area_m2
from gridgov.hotline.models import Ticket
from gridgov.registry.models import Building, Compound, PartyOrganization, Resident, Volunteer

SCALE = 0.01


def build(seed=2024, **kw):
    out = StringIO()
    call_command("demo", scale=SCALE, seed=seed, quiet=True, stdout=out, **kw)
    return out.getvalue()


def stats():
    out = StringIO()
    call_command("stats", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_small_demo_has_the_streets_structure_and_tiles_exactly():
    build()
    assert GridNode.objects.filter(level=0).count() == 1
    level1 = list(GridNode.objects.filter(level=1))
    assert len(level1) == 19
    assert sorted(n.kind for n in level1).count("village") == 2
    assert GridNode.objects.filter(level=2).count() == 144
    geoms = {n.pk: n.geometry() for n in GridNode.objects.all()}
    for parent in GridNode.objects.filter(level__lte=2):
        kids = list(GridNode.objects.filter(parent=parent))
        if parent.level == 2:
            assert 3 <= len(kids) <= 6
        for k in kids:
            assert k.code.startswith(parent.code[: {0: 9, 1: 12, 2: 15}[parent.level]])
            assert len(k.code) == (15 if k.level <= 2 else 18)
            assert geoms[k.pk].is_valid
        union = shapely.union_all([geoms[k.pk] for k in kids])
        parent_area = area_m2(geoms[parent.pk])
        gap_or_spill = area_m2(shapely.symmetric_difference(union, geoms[parent.pk]))
        overlap = sum(area_m2(geoms[k.pk]) for k in kids) - area_m2(union)
        assert gap_or_spill < 1e-6 * parent_area, parent.code
        assert abs(overlap) < 1e-6 * parent_area, parent.code
    # codes in reading order: north→south by rows, so the first third lies north of the last third
    lats = [n.center_lat for n in sorted(level1, key=lambda n: n.code)]
    assert sum(lats[:6]) / 6 > sum(lats[-6:]) / 6
    street = GridNode.objects.get(level=0)
    assert street.code == "110106005000000"
    assert 18.5e6 < street.area_m2 < 19.5e6


@pytest.mark.django_db
def test_residents_are_valid_and_live_in_their_grid():
    build()
    residents = list(Resident.objects.select_related("house__building", "grid"))
    assert 600 <= len(residents) <= 1000
    ids = [crypto.decrypt(r.id_number_enc) for r in residents]
    assert len(set(ids)) == len(ids)
    for r, idn in zip(residents, ids):
        assert id_number_error(idn) is None, idn
        assert id_gender(idn) == r.gender
        assert idn[6:14] == r.birth_date.strftime("%Y%m%d")
        assert r.id_number_masked == crypto.mask_id_number(idn)
        assert r.grid.level == 3
        b = r.house.building
        assert r.grid.geometry().covers(shapely.Point(b.lon, b.lat)), r.pk
    party = sum(r.party_member for r in residents) / len(residents)
    assert 0.04 < party < 0.14
    elderly = sum("elderly" in r.tags for r in residents) / len(residents)
    assert 0.1 < elderly < 0.4
    for b in Building.objects.select_related("grid"):
        assert b.grid.geometry().covers(shapely.Point(b.lon, b.lat))


@pytest.mark.django_db
def test_party_branches_users_and_assignments():
    build()
    grids = set(GridNode.objects.filter(level=2).values_list("pk", flat=True))
    covered = set(PartyOrganization.grids.through.objects.values_list("gridnode_id", flat=True))
    assert PartyOrganization.objects.filter(kind="branch").count() == 71
    assert len(grids - covered) == 1  # one grid left for check-coverage to report
    led = set(GridAssignment.objects.filter(duty=Duty.LEADER, node__level=2).values_list("node_id", flat=True))
    assert len(grids - led) == 1
    assert authenticate(username="admin", password=builder.ADMIN_PASSWORD).is_superuser
    assert authenticate(username="secretary01", password=builder.DEMO_PASSWORD).role == "community_secretary"
    assert GridAssignment.objects.filter(duty=Duty.SECRETARY).count() == 19
    assert Volunteer.objects.filter(user__username__startswith="volunteer").count() == 5  # (+ the teams demo's vol0001, ...)
    assert Compound.objects.filter(community__level=1).count() == Compound.objects.count() > 0


@pytest.mark.django_db
def test_same_seed_same_street(monkeypatch):
    # the demo is built as of now (tickets up to last month, cases played until now): the same
    # now for both builds, or an act falling between the two would differ
    at = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: at)

    def snapshot():
        rows = list(
            Resident.objects.order_by("id").values_list("name", "gender", "birth_date", "grid__code", "household_no", "id_number_masked", "tags")[:100]
        )
        codes = list(GridNode.objects.order_by("code").values_list("code", "name", "geom_wkt"))
        # every case as it got, and every ticket with its case
        cases = list(Case.objects.order_by("id").values_list(
            "number", "channel", "idempotency_key", "item__code", "state", "handler_user__username", "created_at", "resolved_at", "closed_at"))
        tickets = list(Ticket.objects.order_by("ticket_id").values_list("ticket_id", "case__number"))
        assert tickets and all(number for _, number in tickets)
        return stats(), rows, codes, cases, tickets

    build(seed=7)
    first = snapshot()
    build(seed=7, reset=True)
    second = snapshot()
    assert first == second


def test_grid_plan_is_a_pure_function_of_the_seed():
    from gridgov.demo.geometry import build_tree

    def wkts(cell):
        return [cell.geom.wkt] + [w for k in cell.children for w in wkts(k)]

    a, b = build_tree(11), build_tree(11)
    assert wkts(a) == wkts(b)
    assert wkts(build_tree(12))[:20] != wkts(a)[:20]
    assert len(a.children) == 19 and sum(len(c.children) for c in a.children) == 144


@pytest.mark.django_db
def test_if_empty_is_idempotent_and_a_second_build_refuses():
    build()
    before = stats()
    out = build(if_empty=True)
    assert "already" in out and "Log in as admin /" in out
    assert stats() == before
    with pytest.raises(CommandError, match="--reset"):
        build()


@pytest.mark.django_db
def test_stats_counts_every_kind_of_record():
    build()
    s = stats()
    assert set(s) >= {"grid_nodes", "registry", "base_records", "users", "assignments", "audit_entries"}
    assert s["grid_nodes"]["by_level"]["community"] == 19
    assert s["grid_nodes"]["by_level"]["grid"] == 144
    assert s["registry"]["resident"] == Resident.objects.count()
    assert s["base_records"] == sum(s["registry"].values())
    assert s["users"]["by_role"]["admin"] == 1
    assert s["users"]["total"] == User.objects.count()
    assert s["assignments"]["total"] == GridAssignment.objects.count()
    assert s["audit_entries"] == 0


def test_names_come_from_the_shared_file_or_the_fallback(monkeypatch, tmp_path):
    communities, villages, source = names.level1_names()
    assert len(communities) == 17 and len(villages) == 2
    assert len(set(communities)) == 17
    if source == "fengtai_names.txt":
        real = names.read_fengtai_names()["南苑街道"]
        assert len(real) == 13 and set(real) <= set(communities)
        assert villages == ["南苑村", "槐房村"]
    monkeypatch.setenv("GRIDGOV_SHARED_DATA", str(tmp_path))
    communities, villages, source = names.level1_names()
    assert source == "embedded list"
    assert len(set(communities)) == 17 and villages == ["南苑村", "槐房村"]


def test_credit_codes_and_id_numbers_carry_valid_checks():
    rng = random.Random(1)
    people = builder.People(rng)
    from datetime import date

    for i in range(200):
        g = "MF"[i % 2]
        v = people.id_number("110106", date(1950 + i % 60, 1 + i % 12, 1 + i % 28), g)
        assert id_number_error(v) is None and id_gender(v) == g
    # GB 32100 example: 91350100M000100Y43 is a published valid code
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    for _ in range(50):
        code = builder.credit_code(rng, "91")
        assert len(code) == 18
        assert (sum(chars.index(c) * k for c, k in zip(code, w)) + chars.index(code[17])) % 31 == 0


@pytest.mark.django_db
@pytest.mark.slow
def test_a_district_of_streets():
    """`gridgov demo --streets 2`: the district above the demo street and a second street beside
    it, each with its own communities, staff, cases and tickets; each street's leader sees their
    street, the district's leader both, and the 12345 report ranks the two streets."""
    from gridgov.accounts.scope import scope_of
    from gridgov.core import levels
    from gridgov.geo.tiling import check_tiling
    from gridgov.hotline import rates

    build(streets=2)
    district = GridNode.objects.get(parent__isnull=True)
    assert (district.code, district.kind, levels.above()) == ("110106000000000", "district", ["district"])
    streets = list(GridNode.objects.filter(parent=district).order_by("code"))
    assert [s.code for s in streets] == ["110106001000000", "110106005000000"]
    names_by_street = [set(GridNode.objects.filter(parent=s).values_list("name", flat=True)) for s in streets]
    assert len(names_by_street[0]) == len(names_by_street[1]) == 19 and not names_by_street[0] & names_by_street[1]
    assert not check_tiling(1.0)
    for s in streets:
        assert Case.objects.filter(grid_path__startswith=s.path).exists()
        assert Ticket.objects.filter(grid__path__startswith=s.path).exists()
    d_leader, s_leader = User.objects.get(username="district_leader"), User.objects.get(username="s001_leader")
    assert scope_of(d_leader).everything and scope_of(s_leader).paths == (streets[0].path,)
    assert Case.objects.visible_to(d_leader).count() == Case.objects.count()
    mine = Case.objects.visible_to(s_leader)
    assert mine.exists() and not mine.exclude(grid_path__startswith=streets[0].path).exclude(handler_user=s_leader).exists()
    month = Ticket.objects.order_by("-month").values_list("month", flat=True).first()
    r = rates.unit_rates(month, d_leader, level="street")
    assert {u["code"] for u in r["units"]} == {s.code for s in streets}
    build(reset=True, no_tickets=True, no_cases=True)  # a rebuild is one street again, with no district
    levels.forget()
    assert levels.above() == [] and list(GridNode.objects.filter(parent__isnull=True).values_list("code", flat=True)) == [
        "110106005000000"]
