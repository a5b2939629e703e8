"""`gridgov demo --streets N`: a district of N demo streets.

The first street is the demo street (南苑街道, as `gridgov demo` builds it alone). The district
(丰台区) is put above it with `geo.services.add_root`, as an install that grows from one street
would, and the other streets are added beside it, east of each other: each with its own grid
tree (the same planner, another seed), its leader, administrator, community secretaries and
staff, grid leaders and grid workers. A district leader and a district administrator serve the
root. The demo's tickets, cases and the other capabilities' years are built afterwards over
every street (gridgov.demo.management.commands.demo), so each street has its own year."""

import random

import shapely
from datetime import date

from django.conf import settings
from django.db import transaction

from . import names as N
from .builder import DEMO_EMAIL_DOMAIN, DEMO_PASSWORD, People, Progress, _password_hash, build_grids

DISTRICT_NAME = "丰台区"
#: the other streets of Fengtai by their 3-digit street code (the demo street is 005, 南苑)
STREETS = [
    ("001", "右安门街道"), ("002", "太平桥街道"), ("003", "西罗园街道"), ("004", "大红门街道"),
    ("006", "东高地街道"), ("007", "东铁匠营街道"), ("008", "卢沟桥街道"), ("009", "丰台街道"),
    ("010", "新村街道"), ("011", "长辛店街道"), ("012", "云岗街道"), ("013", "方庄街道"),
    ("014", "宛平街道"), ("015", "马家堡街道"), ("016", "和义街道"), ("017", "成寿寺街道"),
]
MAX_STREETS = len(STREETS) + 1
#: degrees of longitude between the west edges of two neighbouring streets
GAP = 0.004


def build_district(n_streets: int, seed: int = 2024, progress=None) -> dict:
    """Put the district above the demo street and add `n_streets - 1` streets beside it, with their
    staff; returns counts. Runs after `builder.build` (the first street and its people)."""
    from gridgov.accounts.models import Duty, GridAssignment, Role, User
    from gridgov.geo import services as geo
    from gridgov.geo.models import GridNode

    if not 2 <= n_streets <= MAX_STREETS:
        raise ValueError(f"--streets must be 1..{MAX_STREETS}, got {n_streets}")
    progress = progress or Progress(quiet=True)
    counts = {"streets": n_streets, "district_users": 0}
    with transaction.atomic():
        district = geo.add_root(code=settings.GRID_DISTRICT_CODE, name=DISTRICT_NAME, kind="district")
        first = GridNode.objects.get(parent=district)
        width = (first.max_lon - first.min_lon) + GAP
        shared_hash = _password_hash(DEMO_PASSWORD)
        users, assign = [], []

        def user(username, role, display, **kw):
            users.append(User(username=username, role=role, display_name=display, password=shared_hash,
                              email=f"{username}@{DEMO_EMAIL_DOMAIN}", **kw))
            return len(users) - 1

        people = People(random.Random(f"district:{seed}"))

        def pname():
            return people.name(people.rng.choice("MF"), people.rng.randint(1965, 1995))

        for who, role, duty in (("district_leader", Role.LEADER, Duty.SECRETARY), ("district_admin", Role.ADMIN, Duty.STAFF)):
            assign.append((user(who, role, f"{DISTRICT_NAME}{'领导' if role == Role.LEADER else '管理员'}"), district, duty))
        for k, (number, name) in enumerate(STREETS[: n_streets - 1], start=1):
            nodes = build_grids(seed + 101 * k, progress, number=number, name=name, parent=district, shift_lon=k * width,
                                level1=_level1_names(name))
            p = f"s{number}_"
            assign.append((user(f"{p}leader", Role.LEADER, pname()), nodes.street, Duty.SECRETARY))
            assign.append((user(f"{p}admin", Role.ADMIN, pname()), nodes.street, Duty.STAFF))
            for ci, c in enumerate(nodes.level1, 1):
                assign.append((user(f"{p}secretary{ci:02d}", Role.COMMUNITY_SECRETARY, pname()), c, Duty.SECRETARY))
                assign.append((user(f"{p}staff{ci:02d}", Role.COMMUNITY_STAFF, pname()), c, Duty.STAFF))
            for g in nodes.grids:
                tail = g.code[-6:]
                assign.append((user(f"{p}gl{tail}", Role.GRID_LEADER, pname()), g, Duty.LEADER))
                assign.append((user(f"{p}gw{tail}1", Role.GRID_WORKER, pname()), g, Duty.WORKER))
            counts[f"street_{number}_grids"] = len(nodes.grids)
        streets = list(GridNode.objects.filter(parent=district).exclude(geom_wkt=""))
        geo.save_node(district, shapely.union_all(shapely.from_wkt([n.geom_wkt for n in streets])))
        made = User.objects.bulk_create(users, batch_size=1000)
        GridAssignment.objects.bulk_create(
            [GridAssignment(user=made[ui], node=n, duty=d, since=date(2022, 3, 1)) for ui, n, d in assign], batch_size=1000)
        counts["district_users"] = len(made)
    progress(f"district {DISTRICT_NAME}: {n_streets} streets, {len(made)} more staff")
    return counts


def _level1_names(street: str) -> tuple[list[str], list[str], str]:
    """The street's own communities and villages from ../shared/data (fengtai_names.txt) where the
    file lists them, numbered ones after them: the planner cuts every street into 19."""
    blocks = N.read_fengtai_names() or {}
    real = [n for n in blocks.get(street, []) if n.endswith("社区")]
    short = street.removesuffix("街道")
    need = N.N_COMMUNITIES + N.N_VILLAGES
    communities = (real + [f"{short}第{N.cn_number(i)}社区" for i in range(1, need + 1)])
    communities = list(dict.fromkeys(communities))[:N.N_COMMUNITIES]
    villages = [f"{short}{c}村" for c in "东西南北中"][:N.N_VILLAGES]
    return communities, villages, "fengtai_names.txt" if real else "numbered"
