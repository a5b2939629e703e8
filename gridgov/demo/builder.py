"""The demo street: a deterministic street modelled on Nanyuan street, Fengtai, Beijing.

Numbers from the seeds (/work/shared/seeds/000_*.txt; summary in /work/shared/MISSION.md):
19 km², ~83,000 residents, 17 communities and 2 villages, 70 compounds, 144 grids, 71 resident
party branches, 1,902 stewards and volunteers in 44 teams of 8 types, 30 service stations,
21 property projects, 170,000+ base records. Same seed → identical data (apart from the
ciphertext of personal data, which Fernet salts).

Reusable pieces (benchmarks use them):
    plan = plan_grids(seed)            # polygons only, no database
    nodes = build_grids(seed)          # saves the grid hierarchy, returns the nodes by level
    counts = build_base_data(nodes, seed=seed, scale=1.0)
    build_users(nodes)                 # staff and other logins with their assignments
    build(seed, scale)                 # all of it in one transaction
"""

import random
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

import shapely
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction

from gridgov.core import crypto
from gridgov.core.checks import DEMO_EMAIL_DOMAIN  # marks the users the demo created (for --reset)
from gridgov.core.validators import id_check_char
from gridgov.geo.models import GeoVersion, GridNode
from gridgov.geo.spatial import area_m2

from . import names as N
from .departments import build_departments
from .duties import build_duty_history
from .geometry import build_tree

STREET_NUMBER = "005"  # 南苑街道 in Fengtai's street numbering
STREET_NAME = "南苑街道"
AS_OF = date(2024, 6, 30)  # the demo's "today": ages, dates
DEMO_PASSWORD = "nanyuan-demo-2024"
ADMIN_PASSWORD = "nanyuan-admin-2024"

FULL = {
    "residents": 83_000,
    "compounds": 70,
    "houses": 39_500,
    "volunteers": 1_902,
    "shops": 1_900,
    "enterprises": 600,
    "units": 260,
    "social_orgs": 110,
}
N_GRIDS = 144
N_BRANCHES = 71
N_PROJECTS = 21
N_STATIONS = 30
TEAM_KINDS = [("steward", 12), ("patrol", 7), ("environment", 6), ("elderly_care", 5), ("culture", 5), ("mediation", 3), ("emergency", 3), ("youth", 3)]
BATCH = 2000

# Age pyramid (share of population per 5-year band, 0–4 … 90+), shaped on Beijing's 2020 census.
AGE_BANDS = [4.0, 4.4, 4.0, 3.4, 5.2, 7.6, 9.6, 9.0, 7.6, 7.0, 7.0, 7.2, 6.6, 5.6, 4.0, 2.6, 1.8, 1.0, 0.4]


class Progress:
    def __init__(self, quiet=False, stream=None):
        self.t0 = time.perf_counter()
        self.quiet = quiet
        self.stream = stream or sys.stderr

    def __call__(self, msg):
        if not self.quiet:
            print(f"[{time.perf_counter() - self.t0:6.1f}s] {msg}", file=self.stream, flush=True)


def _bulk(model, objs, progress=None, label=None):
    out = []
    for i in range(0, len(objs), BATCH):
        out.extend(model.objects.bulk_create(objs[i : i + BATCH], batch_size=BATCH))
    if progress and label:
        progress(f"{label}: {len(objs):,}")
    return out


def _weighted(rng, pairs):
    items, weights = zip(*[(p[0], p[1]) for p in pairs])
    cum, s = [], 0.0
    for w in weights:
        s += w
        cum.append(s)
    return items, cum


def _pick(rng, table):
    items, cum = table
    x = rng.random() * cum[-1]
    lo, hi = 0, len(cum) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return items[lo]


# --------------------------------------------------------------------------------------- grids


@lru_cache(maxsize=4)
def plan_grids(seed: int = 2024):
    """The cell tree (geometry.Cell) of the street: polygons and reading order, no database.
    Pure function of the seed, so cached in the process (callers must not modify it)."""
    return build_tree(seed, n_level1=N.N_COMMUNITIES + N.N_VILLAGES, n_grids=N_GRIDS)


def _shifted(cell, dx: float):
    """A copy of the cell tree moved `dx` degrees east (the tree of plan_grids is cached: never
    modify it)."""
    from dataclasses import replace

    from shapely import affinity

    copy = replace(cell, geom=affinity.translate(cell.geom, xoff=dx))
    copy.children = [_shifted(c, dx) for c in cell.children]
    return copy


def _fill_geom(node: GridNode, geom):
    node.geom_wkt = geom.wkt
    node.min_lon, node.min_lat, node.max_lon, node.max_lat = geom.bounds
    c = geom.representative_point()
    node.center_lon, node.center_lat = c.x, c.y
    node.area_m2 = area_m2(geom)


@dataclass
class Nodes:
    street: GridNode
    level1: list
    grids: list
    micro: list
    geoms: dict = field(default_factory=dict)  # node id → shapely geometry
    names_source: str = ""

    def children(self, node):
        return self._children.get(node.pk, [])

    def index(self):
        self._children = {}
        for n in [*self.level1, *self.grids, *self.micro]:
            self._children.setdefault(n.parent_id, []).append(n)
        self.by_id = {n.pk: n for n in [self.street, *self.level1, *self.grids, *self.micro]}
        return self


def build_grids(seed: int = 2024, progress=None, *, number: str = STREET_NUMBER, name: str = STREET_NAME,
                parent: GridNode | None = None, shift_lon: float = 0.0, level1: tuple | None = None) -> Nodes:
    """Save the street's grid hierarchy (street, 19 communities/villages, 144 grids, micro-grids).
    A district's further streets (gridgov.demo.district) give their own number and name, the
    district as `parent`, and a shift east so that the streets lie side by side."""
    progress = progress or Progress(quiet=True)
    tree = plan_grids(seed)
    if shift_lon:
        tree = _shifted(tree, shift_lon)
    base = parent.level + 1 if parent is not None else 0
    progress("grid polygons planned")
    rng = random.Random(seed * 7 + 1)
    communities, villages, source = level1 or N.level1_names()
    cells1 = tree.children
    # villages take the two largest cells (they are the least dense); communities the rest, shuffled
    by_area = sorted(range(len(cells1)), key=lambda i: -cells1[i].area_m2)
    village_idx = set(by_area[: len(villages)])
    names = list(communities)
    rng.shuffle(names)
    vnames = list(villages)
    district = settings.GRID_DISTRICT_CODE
    street = GridNode(code=f"{district}{number}000000", name=name, level=base, kind="street", parent=parent)
    street.path = f"{parent.path if parent is not None else '/'}{street.code}/"
    _fill_geom(street, tree.geom)
    street.save()
    geoms = {street.pk: tree.geom}
    level1, grids, micro = [], [], []
    pending = []
    for i, cell in enumerate(cells1):
        is_village = i in village_idx
        cname = vnames.pop(0) if is_village else names.pop(0)
        n = GridNode(
            code=f"{district}{number}{i + 1:03d}000", name=cname, level=base + 1,
            kind="village" if is_village else "community", parent=street,
        )
        n.path = f"{street.path}{n.code}/"
        _fill_geom(n, cell.geom)
        pending.append((n, cell))
    level1 = GridNode.objects.bulk_create([n for n, _ in pending])
    for n, cell in pending:
        geoms[n.pk] = cell.geom
    pending2 = []
    for n1, cell1 in pending:
        for j, cell in enumerate(cell1.children):
            short = n1.name.removesuffix("社区")
            g = GridNode(
                code=f"{n1.code[:12]}{j + 1:03d}", name=f"{short}第{N.cn_number(j + 1)}网格", level=base + 2, kind="grid", parent=n1
            )
            g.path = f"{n1.path}{g.code}/"
            _fill_geom(g, cell.geom)
            pending2.append((g, cell))
    grids = GridNode.objects.bulk_create([g for g, _ in pending2])
    for g, cell in pending2:
        geoms[g.pk] = cell.geom
    pending3 = []
    for g, cellg in pending2:
        for k, cell in enumerate(cellg.children):
            m = GridNode(code=f"{g.code}{k + 1:03d}", name=f"{g.name}{k + 1}号微网格", level=base + 3, kind="microgrid", parent=g)
            m.path = f"{g.path}{m.code}/"
            _fill_geom(m, cell.geom)
            pending3.append((m, cell))
    micro = GridNode.objects.bulk_create([m for m, _ in pending3])
    for m, cell in pending3:
        geoms[m.pk] = cell.geom
    GeoVersion.bump()
    progress(f"grid nodes: 1 street ({name}), {len(level1)} communities/villages, {len(grids)} grids, {len(micro)} micro-grids (names: {source})")
    return Nodes(street, list(level1), list(grids), list(micro), geoms, source).index()


# ---------------------------------------------------------------------------------- generators


class People:
    """Names, ID numbers, phones: realistic and unique."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.surnames = _weighted(rng, N.SURNAMES)
        self.ethnic = _weighted(rng, N.ETHNICITIES)
        self.registered = _weighted(rng, N.REGISTERED_REGIONS)
        self.floating = _weighted(rng, [(r, w) for r, w, _ in N.FLOATING_REGIONS])
        self.floating_names = {r: t for r, _, t in N.FLOATING_REGIONS}
        self.young = {g: [N.GIVEN[("young", g)][i : i + 2] for i in range(0, len(N.GIVEN[("young", g)]), 2)] for g in "MF"}
        self.ids: set[str] = set()
        self.phones: set[str] = set()
        self.ages = _weighted(rng, [(i, w) for i, w in enumerate(AGE_BANDS)])
        self.adult_ages = _weighted(rng, [(i, w) for i, w in enumerate(AGE_BANDS) if i >= 5])

    def surname(self):
        return _pick(self.rng, self.surnames)

    def given(self, gender: str, birth_year: int) -> str:
        rng = self.rng
        if birth_year >= 1990:
            if rng.random() < 0.85:
                return rng.choice(self.young[gender])
            return rng.choice("浩宇轩睿然博晨阳" if gender == "M" else "萱怡琪涵瑶欣悦彤")
        era = "old" if birth_year < 1960 else "mid"
        chars = N.GIVEN[(era, gender)]
        if rng.random() < 0.55:
            a, b = rng.sample(chars, 2)
            return a + b
        return rng.choice(chars)

    def name(self, gender, birth_year, surname=None):
        return (surname or self.surname()) + self.given(gender, birth_year)

    def adult_age(self):
        band = _pick(self.rng, self.adult_ages)
        return min(99, band * 5 + self.rng.randrange(5))

    def birth_date(self, age: int) -> date:
        start = date(AS_OF.year - age - 1, AS_OF.month, AS_OF.day) + timedelta(days=1)
        return start + timedelta(days=self.rng.randrange(365))

    def id_number(self, region: str, born: date, gender: str) -> str:
        rng = self.rng
        while True:
            seq = rng.randrange(100) * 10 + (rng.randrange(5) * 2 + (1 if gender == "M" else 0))
            first17 = f"{region}{born:%Y%m%d}{seq:03d}"
            v = first17 + id_check_char(first17)
            if v not in self.ids:
                self.ids.add(v)
                return v

    def mobile(self) -> str:
        rng = self.rng
        while True:
            v = "1" + rng.choice("3456789") + f"{rng.randrange(10**9):09d}"
            if v not in self.phones:
                self.phones.add(v)
                return v

    def landline(self) -> str:
        return f"010-{self.rng.choice('68'):s}{self.rng.randrange(10**6, 10**7):07d}"


_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def credit_code(rng: random.Random, dept_type: str, region: str = "110106") -> str:
    """A unified social credit code (GB 32100-2015) with valid organization-code and final checks."""
    body8 = "".join(rng.choice("0123456789") for _ in range(8))
    s = sum(int(c) * w for c, w in zip(body8, [3, 7, 9, 10, 5, 8, 4, 2]))
    c9 = 11 - s % 11
    org = body8 + ("X" if c9 == 10 else "0" if c9 == 11 else str(c9))
    first17 = dept_type + region + org
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(first17, _CREDIT_W))
    check = (31 - total % 31) % 31
    return first17 + _CREDIT_CHARS[check]


class Locator:
    """Random points inside given micro-grids, and the micro-grid of a point."""

    def __init__(self, nodes: Nodes, rng: random.Random):
        self.rng = rng
        self.nodes = nodes
        self.geoms = nodes.geoms
        for g in self.geoms.values():
            shapely.prepare(g)

    def point_in(self, node) -> tuple[float, float]:
        g = self.geoms[node.pk]
        minx, miny, maxx, maxy = g.bounds
        for _ in range(10_000):
            x, y = self.rng.uniform(minx, maxx), self.rng.uniform(miny, maxy)
            if shapely.contains_xy(g, x, y):
                return x, y
        p = g.representative_point()
        return p.x, p.y

    def micro_point(self, grid) -> tuple[GridNode, float, float]:
        """A micro-grid of `grid` (or `grid` itself if it has none) and a point inside it."""
        kids = self.nodes.children(grid)
        node = self.rng.choice(kids) if kids else grid
        x, y = self.point_in(node)
        return node, x, y


# ---------------------------------------------------------------------------------- base data


def build_base_data(nodes: Nodes, seed: int = 2024, scale: float = 1.0, progress=None) -> dict:
    """Compounds, buildings, addresses, houses, residents, organizations, places, party
    organizations, volunteer teams and volunteers, property projects. Returns counts."""
    from gridgov.registry import models as R

    progress = progress or Progress(quiet=True)
    rng = random.Random(seed * 31 + 7)
    people = People(rng)
    loc = Locator(nodes, rng)
    level1 = nodes.level1
    grids_of = {c.pk: nodes.children(c) for c in level1}
    counts: dict[str, int] = {}

    def scaled(key, minimum=1):
        return max(minimum, round(FULL[key] * scale))

    # -- property companies (needed by compounds)
    prop_orgs = []
    for i, cname in enumerate(N.PROPERTY_COMPANIES):
        grid = rng.choice(nodes.grids)
        m, x, y = loc.micro_point(grid)
        o = R.Organization(
            name=cname, kind="property_company", credit_code=credit_code(rng, "91"), grid=m, lon=x, lat=y,
            address_text=f"{rng.choice(N.ROADS)}{rng.randint(1, 300)}号", contact_name=people.name(rng.choice("MF"), rng.randint(1965, 1990)),
            employees=rng.randint(20, 400),
        )
        o.set_personal("phone", people.landline())
        prop_orgs.append(o)
    prop_orgs = _bulk(R.Organization, prop_orgs)

    # -- compounds, spread over communities by their number of grids
    n_compounds = scaled("compounds", 5)
    per_comm = _allocate(n_compounds, [len(grids_of[c.pk]) for c in level1], minimum=1 if n_compounds >= len(level1) else 0)
    used_names = set()
    compounds = []  # (Compound, community, [grids], kind)
    for comm, k in zip(level1, per_comm):
        cgrids = grids_of[comm.pk]
        if k == 0:
            continue
        chunks = _chunks(cgrids, k) if k <= len(cgrids) else [[cgrids[i % len(cgrids)]] for i in range(k)]
        for chunk in chunks:
            if comm.kind == "village":
                kind = "resettlement"
            else:
                kind = rng.choices(["old", "resettlement", "work_unit", "commercial"], [40, 25, 15, 20])[0]
            for _ in range(100):
                stem = rng.choice(N.WORK_UNITS) if kind == "work_unit" else (comm.name[:2] if rng.random() < 0.3 else rng.choice(N.COMPOUND_STEMS))
                nm = stem + rng.choice(N.COMPOUND_SUFFIX[kind])
                if nm not in used_names:
                    break
            else:
                nm = f"{stem}{len(used_names)}号院"
            used_names.add(nm)
            compounds.append((R.Compound(name=nm, community=comm, kind=kind), comm, chunk, kind))

    # property projects: 21 projects of 16 companies over the managed compounds
    managed = [i for i, c in enumerate(compounds) if c[3] != "old" or rng.random() < 0.4]
    rng.shuffle(managed)
    project_compounds = [[] for _ in range(N_PROJECTS)]
    for j, ci in enumerate(managed):
        project_compounds[j % N_PROJECTS].append(ci)
    project_company = [prop_orgs[i % len(prop_orgs)] if i < len(prop_orgs) else rng.choice(prop_orgs) for i in range(N_PROJECTS)]
    for pi, cis in enumerate(project_compounds):
        for ci in cis:
            compounds[ci][0].property_company = project_company[pi]

    # -- buildings (and the compound's grid and centre from them)
    n_houses = round(FULL["houses"] * scale)
    weights = [rng.uniform(0.5, 1.5) * {"old": 1.0, "resettlement": 1.3, "work_unit": 0.6, "commercial": 1.2}[k] for *_, k in compounds]
    house_targets = _allocate(n_houses, weights, minimum=1)
    min_buildings = 5 if scale >= 0.5 else 1
    buildings = []  # (Building, compound index, per_floor)
    for ci, ((comp, comm, chunk, kind), target) in enumerate(zip(compounds, house_targets)):
        total, b = 0, 0
        pts = []
        while (total < target or b < min_buildings) and b < 30:
            floors, units, per_floor, years = {
                "old": (rng.choice([5, 6, 6, 6]), rng.randint(2, 4), rng.choice([2, 3]), (1958, 1995)),
                "work_unit": (rng.randint(4, 6), rng.randint(2, 3), rng.choice([2, 3]), (1970, 1998)),
                "resettlement": (rng.randint(11, 18), rng.randint(2, 3), rng.choice([2, 3, 4]), (2003, 2020)),
                "commercial": (rng.choice([6, 9, 12, 18, 24]), rng.randint(1, 3), rng.choice([2, 3, 4]), (2003, 2018)),
            }[kind]
            grid = chunk[b % len(chunk)]
            m, x, y = loc.micro_point(grid)
            b += 1
            bld = R.Building(
                name=f"{b}号楼", floors=floors, units=units, year_built=rng.randint(*years), grid=m, lon=x, lat=y,
            )
            buildings.append((bld, ci, per_floor))
            pts.append((x, y, m))
            total += floors * units * per_floor
        comp.lon = sum(p[0] for p in pts) / len(pts)
        comp.lat = sum(p[1] for p in pts) / len(pts)
        comp.grid = nodes.by_id[pts[0][2].parent_id]  # the grid holding its first building
    comp_objs = _bulk(R.Compound, [c[0] for c in compounds], progress, "compounds")
    for bld, ci, _ in buildings:
        bld.compound = comp_objs[ci]
    bld_objs = _bulk(R.Building, [b[0] for b in buildings], progress, "buildings")

    # -- standard addresses: compound, building, unit, house levels; then houses
    addr = []
    house_plan = []  # (address index, building index, floor, kind)
    comp_code = {}
    seq_in_comm: dict[int, int] = {}
    for ci, (comp, comm, chunk, kind) in enumerate(compounds):
        seq_in_comm[comm.pk] = seq_in_comm.get(comm.pk, 0) + 1
        code = f"{comm.code}-{seq_in_comm[comm.pk]:03d}"
        comp_code[ci] = code
        prefix = f"北京市丰台区{STREET_NAME}{comm.name}"
        addr.append(R.Address(code=code, level="compound", community=comm, compound=comp, grid=comp.grid, text=f"{prefix}{comp.name}", lon=comp.lon, lat=comp.lat))
    for bi, (bld, ci, per_floor) in enumerate(buildings):
        comp, comm, _, kind = compounds[ci]
        bcode = f"{comp_code[ci]}-{bi + 1:04d}"
        base = f"北京市丰台区{STREET_NAME}{comm.name}{comp.name}{bld.name}"
        common = dict(community=comm, compound=comp, building=bld, grid=bld.grid, lon=bld.lon, lat=bld.lat)
        addr.append(R.Address(code=bcode, level="building", text=base, **common))
        for u in range(1, bld.units + 1):
            addr.append(R.Address(code=f"{bcode}-{u}", level="unit", unit=f"{u}单元", text=f"{base}{u}单元", **common))
            for fl in range(1, bld.floors + 1):
                for r in range(1, per_floor + 1):
                    room = f"{fl}{r:02d}"
                    addr.append(R.Address(code=f"{bcode}-{u}-{room}", level="house", unit=f"{u}单元", room=room, text=f"{base}{u}单元{room}室", **common))
                    house_plan.append((len(addr) - 1, bi, fl, kind))
    addr_objs = _bulk(R.Address, addr, progress, "standard addresses")
    area_range = {"old": (38, 72), "work_unit": (45, 85), "resettlement": (55, 110), "commercial": (75, 145)}
    houses = []
    for ai, bi, fl, kind in house_plan:
        a = addr_objs[ai]
        use = "commercial" if (fl == 1 and kind == "old" and rng.random() < 0.04) else "residential"
        lo, hi = area_range[kind]
        houses.append(R.House(address=a, building=bld_objs[bi], grid=a.grid, use=use, area_m2=Decimal(f"{rng.uniform(lo, hi):.2f}"), occupancy="vacant"))

    # -- party organizations: a working committee, a committee per community, 71 branches on grids
    party = [R.PartyOrganization(name=f"中共北京市丰台区{STREET_NAME}工作委员会", kind="committee", grid=nodes.street, secretary_name=people.name("M", 1972))]
    comm_party = {}
    for c in level1:
        kind = "general_branch" if c.kind == "village" else "committee"
        label = "党总支" if kind == "general_branch" else "党委"
        party.append(R.PartyOrganization(name=f"中共{c.name}{label}", kind=kind, grid=c, secretary_name=people.name(rng.choice("MF"), rng.randint(1965, 1985))))
        comm_party[c.pk] = len(party) - 1
    branches_per = _allocate(N_BRANCHES, [len(grids_of[c.pk]) for c in level1], minimum=1)
    branch_grids = []  # party index → grids
    grid_branch = {}
    uncovered_comm = max(level1, key=lambda c: len(grids_of[c.pk]))
    for c, nb in zip(level1, branches_per):
        cgrids = list(grids_of[c.pk])
        if c.pk == uncovered_comm.pk:
            cgrids = cgrids[:-1]  # leave one grid without a branch: check-coverage reports it
        for j, chunk in enumerate(_chunks(cgrids, nb)):
            party.append(R.PartyOrganization(name=f"中共{c.name}第{N.cn_number(j + 1)}支部委员会", kind="branch", grid=chunk[0], secretary_name=people.name(rng.choice("MF"), rng.randint(1955, 1988))))
            branch_grids.append((len(party) - 1, chunk))
            for g in chunk:
                grid_branch[g.pk] = len(party) - 1
    party_objs = _bulk(R.PartyOrganization, party, progress, "party organizations")
    through = R.PartyOrganization.grids.through
    _bulk(through, [through(partyorganization_id=party_objs[pi].pk, gridnode_id=g.pk) for pi, chunk in branch_grids for g in chunk])

    # -- households and residents
    n_res = scaled("residents", 50)
    order = list(range(len(houses)))
    rng.shuffle(order)
    residents = []
    res_building = []  # building index of each resident
    hh_no = 0
    sizes = _weighted(rng, [(1, 19), (2, 31), (3, 28), (4, 13), (5, 6), (6, 3)])
    for hi in order:
        if len(residents) >= n_res:
            break
        if rng.random() < 0.09:
            continue  # vacant
        h = houses[hi]
        ai, bi, fl, kind = house_plan[hi]
        rented = rng.random() < (0.3 if kind in ("old", "resettlement") else 0.18)
        h.occupancy = "rented" if rented else "owner"
        floating = rented and rng.random() < 0.8
        hh_no += 1
        members = _household(rng, people, _pick(rng, sizes), floating)
        region = _pick(rng, people.floating) if floating else None
        grid = h.grid
        branch = grid_branch.get(grid.parent_id)
        for age, gender, relation, surname in members:
            born = people.birth_date(age)
            reg = region or _pick(rng, people.registered)
            idn = people.id_number(reg, born, gender)
            r = R.Resident(
                name=surname + people.given(gender, born.year), gender=gender, birth_date=born,
                ethnicity=_pick(rng, people.ethnic), household_no=f"{'L' if floating else 'H'}{hh_no:07d}",
                relation=relation, residence_type="floating" if floating else ("overseas" if rng.random() < 0.001 else "registered"),
                registered_address=people.floating_names[region] if floating else addr_objs[ai].text,
                house=h, grid=grid, tags=_tags(rng, age, gender, len(members)),
            )
            r.set_personal("id_number", idn)
            if age >= 16:
                r.set_personal("phone", people.mobile())
            if age >= 18 and rng.random() < (0.17 if age >= 60 else 0.08):
                r.party_member = True
                r.party_org_id = party_objs[branch].pk if branch is not None else party_objs[comm_party[nodes.by_id[grid.parent_id].parent_id]].pk
            residents.append(r)
            res_building.append(bi)
    progress(f"residents generated and encrypted: {len(residents):,}")
    house_objs = _bulk(R.House, houses, progress, "houses")
    res_objs = _bulk(R.Resident, residents, progress, "residents")
    members = {}
    for r in res_objs:
        if r.party_org_id:
            members[r.party_org_id] = members.get(r.party_org_id, 0) + 1
    for p in party_objs:
        p.member_count = members.get(p.pk, 0)
    R.PartyOrganization.objects.bulk_update(party_objs, ["member_count"])

    # -- organizations: shops, enterprises, units, social organizations, schools, medical
    orgs = []

    def org(name, kind, dept, grid=None, employees=(1, 10), landline=False):
        grid = grid or rng.choice(nodes.grids)
        m, x, y = loc.micro_point(grid)
        o = R.Organization(
            name=name, kind=kind, credit_code=credit_code(rng, dept), grid=m, lon=x, lat=y,
            address_text=f"{rng.choice(N.ROADS)}{rng.randint(1, 300)}号",
            contact_name=people.name(rng.choice("MF"), rng.randint(1960, 1998)), employees=rng.randint(*employees),
        )
        o.set_personal("phone", people.landline() if landline else people.mobile())
        orgs.append(o)

    seen = set()
    for i in range(scaled("shops", 20)):
        road = rng.choice(N.ROADS)
        if rng.random() < 0.25:
            nm = f"{rng.choice(N.BRAND_SHOPS)}（{road}店）"
        else:
            nm = f"{people.surname()}{rng.choice(['记', '家', '氏', '大姐', '师傅'])}{rng.choice(N.SHOP_KINDS)}"
        if nm in seen:
            nm = f"{nm}（{road}{rng.randint(1, 300)}号）"
        seen.add(nm)
        org(nm, "shop", "92", employees=(1, 12))
    for i in range(scaled("enterprises", 10)):
        org(f"北京{rng.choice(N.ENTERPRISE_STEMS)}{rng.choice(N.ENTERPRISE_WORDS)}有限公司", "enterprise", "91", employees=(3, 300), landline=True)
    for i in range(scaled("units", 5)):
        base = N.UNITS[i % len(N.UNITS)]
        org(base if i < len(N.UNITS) else f"{base}（{N.cn_number(i // len(N.UNITS) + 1)}）", "unit", "12", employees=(10, 500), landline=True)
    for i in range(scaled("social_orgs", 5)):
        c = level1[i % len(level1)]
        org(f"{c.name}{N.SOCIAL_ORGS[(i // len(level1)) % len(N.SOCIAL_ORGS)]}", "social_org", "53", grid=rng.choice(grids_of[c.pk]), employees=(3, 60))
    for i in range(12):
        org(f"北京市丰台区南苑第{N.cn_number(i + 1)}{'幼儿园' if i % 3 == 0 else '小学' if i % 3 == 1 else '中学'}", "school", "12", employees=(30, 200), landline=True)
    for i in range(20):
        org(f"{rng.choice(N.COMPOUND_STEMS)}{rng.choice(['社区卫生服务站', '诊所', '口腔诊所', '中医诊所'])}", "medical", "52", employees=(3, 60), landline=True)
    _bulk(R.Organization, orgs, progress, "organizations")

    # -- places
    places = []

    def place(name, kind, grid, hours="", note=""):
        m, x, y = loc.micro_point(grid)
        places.append(R.Place(name=name, kind=kind, grid=m, lon=x, lat=y, address_text=f"{rng.choice(N.ROADS)}{rng.randint(1, 300)}号", open_hours=hours, note=note))

    station_grids = rng.sample(nodes.grids, N_STATIONS)
    for i, g in enumerate(station_grids):
        place(f"苑苑驿站（{g.name}）", "service_station", g, "8:00-20:00", "清凉/暖心驿站：饮水、充电、休息")
    place("小憩·港湾党群服务中心", "party_mass_center", rng.choice(nodes.grids), "9:00-21:00", "一中心")
    for nm in ["阳光南", "机场", "京粮"]:
        place(f"{nm}党建服务站", "party_mass_center", rng.choice(nodes.grids), "9:00-17:30", "三站点")
    for c in level1:
        place(f"{c.name}党群服务中心", "party_mass_center", grids_of[c.pk][0], "9:00-17:30")
    key_kinds = ["加油站", "网吧", "KTV", "建筑工地", "液化气供应站", "农贸市场", "地下空间", "群租房集中区", "出租大院", "仓储物流园"]
    for i in range(50):
        place(f"{rng.choice(N.ROADS)}{key_kinds[i % len(key_kinds)]}{i // len(key_kinds) + 1}号", "key_place", rng.choice(nodes.grids), note="重点场所")
    for i in range(40):
        g = rng.choice(nodes.grids)
        place(f"{g.name}电动车充电棚{i + 1}", "charging_shed", g)
    for i in range(6):
        place(f"南苑{['东', '西', '南', '北', '中心', '新华'][i]}市场", "market", rng.choice(nodes.grids), "6:00-19:00")
    _bulk(R.Place, places, progress, "places")

    # -- volunteer teams (44 of 8 kinds) and volunteers
    labels = dict(R.VolunteerTeam.KINDS)
    teams = []
    team_names = set()
    t = 0
    for kind, n in TEAM_KINDS:
        for j in range(n):
            c = level1[(t * 7) % len(level1)]
            t += 1
            nm = f"{c.name}苑苑{labels[kind]}队"
            if nm in team_names:
                nm = f"{c.name}苑苑{labels[kind]}{N.cn_number(j + 1)}队"
            team_names.add(nm)
            teams.append(R.VolunteerTeam(name=nm, kind=kind, grid=c))
    team_objs = _bulk(R.VolunteerTeam, teams, progress, "volunteer teams")
    steward_teams = [tm for tm in team_objs if tm.kind == "steward"]
    other_teams = [tm for tm in team_objs if tm.kind != "steward"]
    n_vol = scaled("volunteers", 10)
    n_steward = round(n_vol * 0.6)
    adults = [i for i, r in enumerate(res_objs) if 18 <= _age(r.birth_date) <= 78]
    rng.shuffle(adults)
    vols = []
    duties = ["信息员", "宣传员", "调解员", "监督员", "服务员"]
    for k, ri in enumerate(adults[:n_vol]):
        r = res_objs[ri]
        steward = k < n_steward
        v = R.Volunteer(
            name=r.name, kind="steward" if steward else "volunteer", resident=r, grid=r.grid,
            team=rng.choice(steward_teams if steward else other_teams),
            building=bld_objs[res_building[ri]] if steward else None,
            duties="、".join(duties) if steward else rng.choice(duties),
            joined=AS_OF - timedelta(days=rng.randint(30, 5 * 365)),
        )
        v.phone_enc, v.phone_hash, v.phone_masked = r.phone_enc, r.phone_hash, r.phone_masked
        vols.append(v)
    vol_objs = _bulk(R.Volunteer, vols, progress, "stewards and volunteers")

    # -- property projects
    projects = []
    for pi in range(N_PROJECTS):
        company = project_company[pi]
        cis = project_compounds[pi]
        short = company.name.removeprefix("北京").split("物业")[0].split("房")[0]
        nm = f"{short}物业{comp_objs[cis[0]].name}项目" if cis else f"{short}物业南苑项目{pi + 1}"
        projects.append(R.PropertyProject(
            name=nm, company=company, grid=comp_objs[cis[0]].grid if cis else nodes.street,
            manager_name=people.name(rng.choice("MF"), rng.randint(1970, 1992)),
            contract_end=date(AS_OF.year + rng.randint(0, 3), rng.randint(1, 12), 1),
        ))
    proj_objs = _bulk(R.PropertyProject, projects, progress, "property projects")
    pthrough = R.PropertyProject.compounds.through
    _bulk(pthrough, [pthrough(propertyproject_id=proj_objs[pi].pk, compound_id=comp_objs[ci].pk) for pi in range(N_PROJECTS) for ci in project_compounds[pi]])

    # households per grid, for the grids' targets
    per_grid: dict[int, set] = {}
    for r in res_objs:
        gid = nodes.by_id[r.grid_id].parent_id
        per_grid.setdefault(gid, set()).add(r.household_no)
    for g in nodes.grids:
        g.households_target = len(per_grid.get(g.pk, ()))
    GridNode.objects.bulk_update(nodes.grids, ["households_target"])

    counts = {
        "compounds": len(comp_objs), "buildings": len(bld_objs), "addresses": len(addr_objs), "houses": len(house_objs),
        "residents": len(res_objs), "organizations": len(prop_orgs) + len(orgs), "places": len(places),
        "party_organizations": len(party_objs), "volunteer_teams": len(team_objs), "volunteers": len(vol_objs),
        "property_projects": len(proj_objs),
    }
    counts["base_records"] = sum(counts.values())
    nodes.volunteers = vol_objs
    nodes.residents_sample = res_objs[:50]
    return counts


def _age(born: date) -> int:
    return AS_OF.year - born.year - ((AS_OF.month, AS_OF.day) < (born.month, born.day))


def _household(rng, people: People, size: int, floating: bool):
    """[(age, gender, relation, surname)] of one household; the head first."""
    head_age = people.adult_age()
    if floating:
        head_age = min(head_age, rng.randint(22, 55))
    head_g = "M" if rng.random() < 0.62 else "F"
    head_s = people.surname()
    out = [(head_age, head_g, "户主", head_s)]
    family_s = head_s if head_g == "M" else people.surname()
    if size >= 2 and rng.random() < 0.88:
        sp_age = max(20, head_age + rng.randint(-5, 3) * (1 if head_g == "M" else -1))
        out.append((sp_age, "F" if head_g == "M" else "M", "配偶", people.surname() if head_g == "M" else family_s))
    while len(out) < size:
        if head_age >= 52 and rng.random() < 0.5 and head_age - 52 >= 0:
            a = max(0, head_age - rng.randint(50, 62))
            g = rng.choice("MF")
            out.append((a, g, "孙子" if g == "M" else "孙女", family_s))
        elif head_age >= 22 and rng.random() < 0.75:
            a = head_age - rng.randint(22, 36)
            if a < 0:
                a = rng.randint(0, 3)
            g = rng.choice("MF")
            out.append((a, g, "子" if g == "M" else "女", family_s))
        else:
            a = min(99, head_age + rng.randint(24, 34))
            g = rng.choice("MF")
            out.append((a, g, "父亲" if g == "M" else "母亲", head_s if g == "M" else people.surname()))
    return out


def _tags(rng, age: int, gender: str, household_size: int) -> list[str]:
    tags = []
    if age >= 60:
        tags.append("elderly")
        if household_size == 1:
            tags.append("living_alone")
    if age < 14:
        tags.append("child")
    if rng.random() < (0.05 if age >= 75 else 0.008):
        tags.append("frail")
    if rng.random() < (0.07 if age >= 50 else 0.01):
        tags.append("sick")
    if rng.random() < (0.04 if age >= 60 else 0.018):
        tags.append("disabled")
    if gender == "F" and 22 <= age <= 40 and rng.random() < 0.045:
        tags.append("pregnant")
    if rng.random() < 0.012:
        tags.append("low_income")
    if gender == "M" and age >= 35 and rng.random() < 0.03:
        tags.append("veteran")
    if age >= 18 and rng.random() < 0.003:
        tags.append("key_person")
    return tags


def _allocate(total, weights, minimum=1):
    from .geometry import allocate

    if not weights:
        return []
    return allocate(total, weights, minimum)


def _chunks(items, k):
    """Split items into k contiguous non-empty chunks of near-equal size (k <= len(items))."""
    k = max(1, min(k, len(items)))
    sizes = _allocate(len(items), [1] * k, minimum=1)
    out, i = [], 0
    for s in sizes:
        out.append(items[i : i + s])
        i += s
    return out


# ---------------------------------------------------------------------------------------- users


def _password_hash(password: str) -> str:
    """Hashing is slow on purpose (PBKDF2); the demo's users share one hash per password.
    Cached per hasher too: a hash made under other PASSWORD_HASHERS would not verify."""
    from django.conf import settings

    return _cached_hash(password, tuple(settings.PASSWORD_HASHERS))


@lru_cache(maxsize=8)
def _cached_hash(password: str, hashers: tuple) -> str:
    return make_password(password)


def build_users(nodes: Nodes, seed: int = 2024, admin_password: str = ADMIN_PASSWORD, password: str = DEMO_PASSWORD, progress=None) -> dict:
    """The administrator, leaders, community secretaries and staff, grid leaders and workers,
    section staff, and a few volunteers and residents with logins, with their assignments.
    All but the administrator share one demo password (hashed once: hashing is slow on purpose)."""
    from gridgov.accounts.models import Duty, GridAssignment, Role, User
    from gridgov.registry.models import Resident, Volunteer

    progress = progress or Progress(quiet=True)
    rng = random.Random(seed * 13 + 5)
    people = People(rng)
    shared_hash = _password_hash(password)
    users, assign = [], []  # assign: (user index, node, duty)

    def user(username, role, display, **kw):
        u = User(username=username, role=role, display_name=display, password=shared_hash, email=f"{username}@{DEMO_EMAIL_DOMAIN}", **kw)
        phone = people.mobile()
        u.phone_enc, u.phone_hash, u.phone_masked = crypto.encrypt(phone), crypto.blind_index(phone), crypto.mask_phone(phone)
        users.append(u)
        return len(users) - 1

    def pname():
        return people.name(rng.choice("MF"), rng.randint(1965, 1995))

    admin = user("admin", Role.ADMIN, "系统管理员", is_superuser=True, is_staff=True)
    users[admin].password = _password_hash(admin_password)
    half = (len(nodes.level1) + 1) // 2
    for i in range(2):
        u = user(f"leader{i + 1}", Role.LEADER, pname())
        assign.append((u, nodes.street, Duty.LEADER))
        for c in nodes.level1[i * half : (i + 1) * half]:
            assign.append((u, c, Duty.LEADER))  # 包片: a leader co-leads communities
    for ci, c in enumerate(nodes.level1, 1):
        u = user(f"secretary{ci:02d}", Role.COMMUNITY_SECRETARY, pname())
        assign.append((u, c, Duty.SECRETARY))
        for k in (1, 2):
            u = user(f"staff{ci:02d}{k}", Role.COMMUNITY_STAFF, pname())
            assign.append((u, c, Duty.STAFF))
    no_leader = nodes.grids[len(nodes.grids) // 2]  # one grid without a grid leader, for the checks to find
    for g in nodes.grids:
        tail = g.code[-6:]
        if g.pk != no_leader.pk:
            u = user(f"gl{tail}", Role.GRID_LEADER, pname())
            assign.append((u, g, Duty.LEADER))
        for k in range(1, rng.choice([1, 2, 2]) + 1):
            u = user(f"gw{tail}{k}", Role.GRID_WORKER, pname())
            assign.append((u, g, Duty.WORKER))
    for i, dept in enumerate(N.SECTIONS, 1):
        u = user(f"section{i}", Role.SECTION_STAFF, pname(), department=dept)
        assign.append((u, nodes.street, Duty.STAFF))
    free = Volunteer.objects.filter(user__isnull=True, grid__isnull=False).order_by("id")
    vols = list(free.filter(kind="steward")[:3]) + list(free.filter(kind="volunteer")[:2])
    vol_users = []
    for i, v in enumerate(vols, 1):
        role = Role.STEWARD if v.kind == "steward" else Role.VOLUNTEER
        u = user(f"volunteer{i}", role, v.name)
        vol_users.append((u, v))
        grid = nodes.by_id[nodes.by_id[v.grid_id].parent_id] if v.grid_id else nodes.street
        assign.append((u, grid, Duty.STEWARD if v.kind == "steward" else Duty.VOLUNTEER))
    for i, r in enumerate(Resident.objects.filter(birth_date__lte=date(AS_OF.year - 20, 1, 1)).order_by("id")[:5], 1):
        user(f"resident{i}", Role.RESIDENT, r.name)
    user_objs = User.objects.bulk_create(users, batch_size=BATCH)
    for ui, v in vol_users:
        v.user = user_objs[ui]
    Volunteer.objects.bulk_update([v for _, v in vol_users], ["user"])
    GridAssignment.objects.bulk_create(
        [GridAssignment(user=user_objs[ui], node=n, duty=d, since=date(2022, 3, 1)) for ui, n, d in assign], batch_size=BATCH
    )
    progress(f"users: {len(user_objs)}, assignments: {len(assign)}")
    return {"users": len(user_objs), "assignments": len(assign), "grid_without_leader": no_leader.code}


# ------------------------------------------------------------------------------- whole street


def wipe(progress=None):
    """Delete the demo's data: base data of every app, grid nodes, assignments, demo users.
    The audit log stays (it is append-only)."""
    from django.apps import apps

    from gridgov.accounts.models import GridAssignment, User
    from gridgov.registry import models as R

    progress = progress or Progress(quiet=True)
    # other apps' data (cases, hotline, ...) refers to grids and users: remove it first
    own = {"core", "geo", "accounts", "registry", "demo"}
    # configuration that is not demo data (KEEP_ON_DEMO_RESET, e.g. the sensitive-word list) stays
    others = [m for m in apps.get_models() if m.__module__.startswith("gridgov.") and m._meta.app_label not in own
              and not getattr(m, "KEEP_ON_DEMO_RESET", False)]
    for _ in range(len(others) + 1):
        left = False
        for m in reversed(others):
            try:
                with transaction.atomic():
                    m.objects.all().delete()
            except Exception:  # protected by another model still holding rows: next pass
                left = True
        if not left:
            break
    for m in [
        R.PropertyProject.compounds.through, R.PropertyProject, R.Volunteer, R.VolunteerTeam, R.Resident,
        R.PartyOrganization.grids.through, R.PartyOrganization, R.Place, R.House,
    ]:
        m.objects.all()._raw_delete(m.objects.db)
    R.Compound.objects.update(property_company=None)
    for m in [R.Organization, R.Address, R.Building, R.Compound]:
        m.objects.all()._raw_delete(m.objects.db)
    GridAssignment.objects.all().delete()
    from gridgov.core.models import ChangeRecord

    ChangeRecord.objects.filter(kind="duties").delete()  # the duties' history goes with them
    User.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}").delete()
    for level in range(GridNode.objects.order_by("-level").values_list("level", flat=True).first() or 0, -1, -1):
        GridNode.objects.filter(level=level)._raw_delete(GridNode.objects.db)
    GeoVersion.objects.filter(pk=1).update(above=[])  # no district above a rebuilt street
    from gridgov.core import levels

    levels.forget()
    GeoVersion.bump()
    progress("previous data wiped")


def build(seed: int = 2024, scale: float = 1.0, reset: bool = False, progress=None, admin_password: str = ADMIN_PASSWORD) -> dict:
    """Build the whole demo street in one transaction; returns a summary."""
    progress = progress or Progress(quiet=True)
    with transaction.atomic():
        if reset:
            wipe(progress)
        nodes = build_grids(seed, progress)
        counts = build_base_data(nodes, seed=seed, scale=scale, progress=progress)
        users = build_users(nodes, seed=seed, admin_password=admin_password, progress=progress)
        users["departments"] = build_departments(seed, _password_hash(DEMO_PASSWORD), DEMO_EMAIL_DOMAIN, progress)
        users["duty_history"] = build_duty_history(seed, progress)  # people who left and were replaced
        from gridgov.registry.demo import build_record_histories

        counts["record_histories"] = build_record_histories(seed)
    return {"nodes": nodes, "counts": counts, "users": users}
