"""The demo's departments and property companies' users (issue 10).

`build_departments(...)` (called by the builder after the users): a Department record for each
of the street's sections (the section staff are their members already) and for the outside units
that can be summoned (城管执法, 派出所, 市场监管, 住建, 供水, 供电, 燃气), each with a contact and
a member; the two property companies serving the most compounds get their Department (kind
property, Organization.department) and one property-staff user each: `property1`, `property2`.

`seed_property_items()` (called by `gridgov demo` before the year of cases, which draws its
own cases from the other items): the 物业 items (their department 物业: the property company of
the case's compound), a routing path 物业→社区 and its rules. `build_property_cases(...)` (after
the year of cases): a few such reports in each company's compounds, filed through
`cases.services.submit_case` (so the compound and the routing are intake's); some accepted."""

import random

from django.db import transaction

from . import names as N

#: outside units that can be summoned: (name, kind, member user name)
UNITS = [
    ("南苑城管执法队", "unit", "citymgmt1"),
    ("南苑派出所", "unit", "police1"),
    ("南苑市场监管所", "unit", "market1"),
    ("区住建委南苑工作站", "unit", "housing1"),
    ("南苑供水服务站", "unit", "water1"),
    ("南苑供电所", "unit", "power1"),
    ("南苑燃气服务站", "unit", "gas1"),
]
#: the property companies' users, in the order of the companies (most compounds first)
PROPERTY_USERS = ("property1", "property2")
#: the 物业 items: code, name, keywords, urgency, accept / arrive minutes, resolve hours
PROPERTY_ITEMS = [
    ("PM01", "电梯故障", "电梯|困人|电梯坏|电梯停|elevator|lift", "major", 30, 60, 8),
    ("PM02", "小区保洁", "保洁|楼道脏|垃圾没清|小区卫生|cleaning", "minor", 60, 240, 16),
    ("PM03", "小区设施维修", "单元门|门禁|楼道灯|水泵|车棚|door|intercom", "normal", 60, 240, 16),
]
PROPERTY_REPORTS = [
    ("PM01", "{b}电梯停了，老人上不了楼"), ("PM02", "{b}楼道里垃圾好几天没人清"),
    ("PM03", "{b}单元门门禁坏了，外人随便进出"), ("PM01", "{b}电梯异响，大家不敢坐"),
]


def _landline(rng) -> str:
    return f"010-67{rng.randint(10, 99)}{rng.randint(1000, 9999)}"


def build_departments(seed: int = 2024, password_hash: str = "", email_domain: str = "", progress=None) -> dict:
    """Departments with contacts and members, and the two property companies' users."""
    from gridgov.accounts.models import Department, Role, User
    from gridgov.core import crypto
    from gridgov.registry.models import Organization

    from .builder import People

    rng = random.Random(seed * 31 + 10)
    people = People(rng)
    made = 0
    with transaction.atomic():
        for name in N.SECTIONS:
            _, new = Department.objects.update_or_create(name=name, defaults={
                "kind": Department.Kind.SECTION, "active": True,
                "contact_name": people.name(rng.choice("MF"), rng.randint(1965, 1990)), "contact_phone": _landline(rng)})
            made += new
        users = []
        for name, kind, username in UNITS:
            Department.objects.update_or_create(name=name, defaults={
                "kind": kind, "active": True,
                "contact_name": people.name(rng.choice("MF"), rng.randint(1965, 1990)), "contact_phone": _landline(rng)})
            users.append((username, Role.SECTION_STAFF, name))
        companies = sorted(Organization.objects.filter(kind="property_company"),
                           key=lambda o: (-o.property_projects.filter(compounds__isnull=False).count(), o.pk))[:2]
        for org, username in zip(companies, PROPERTY_USERS):
            dep, _ = Department.objects.update_or_create(name=org.name, defaults={
                "kind": Department.Kind.PROPERTY, "active": True, "contact_name": org.contact_name,
                "contact_phone": _landline(rng), "note": "物业公司"})
            Organization.objects.filter(pk=org.pk).update(department=dep)
            users.append((username, Role.PROPERTY_STAFF, dep.name))
        for username, role, department in users:
            if User.objects.filter(username=username).exists():
                continue
            u = User(username=username, role=role, department=department, display_name=people.name(rng.choice("MF"), rng.randint(1970, 1995)),
                     password=password_hash, email=f"{username}@{email_domain}")
            phone = people.mobile()
            u.phone_enc, u.phone_hash, u.phone_masked = crypto.encrypt(phone), crypto.blind_index(phone), crypto.mask_phone(phone)
            u.save()
    if progress:
        progress(f"departments: {Department.objects.count()}, property companies with users: {len(companies)}")
    return {"departments": Department.objects.count(), "department_users": len(users),
            "property_companies": [c.name for c in companies]}


def _ids_after_max(model):
    """New rows of `model` get the ids after its highest (the same seed gives the same case
    numbers after a --reset). PostgreSQL: the demo's cases already reset the sequence; SQLite's
    AUTOINCREMENT remembers deleted ids, so its counter is set back."""
    from django.db import connection

    if connection.vendor == "sqlite":
        table = model._meta.db_table
        with connection.cursor() as cur:
            cur.execute(f'UPDATE sqlite_sequence SET seq = (SELECT COALESCE(MAX(id), 0) FROM "{table}") WHERE name = %s', [table])


def seed_property_items() -> int:
    """The 物业 items (department 物业), the path 物业→社区 and a rule for each item. Run before
    the year of cases, so that the cases were recognised under the taxonomy the street has."""
    from decimal import Decimal

    from gridgov.cases.models import Item, RoutingPath, RoutingRule, Scenario

    scenario = Scenario.objects.filter(code="grid_governance").first() or Scenario.objects.order_by("order").first()
    if scenario is None:
        return 0
    path, _ = RoutingPath.objects.get_or_create(code="property_community", defaults={
        "name": "物业→社区", "steps": [["section"], ["community_secretary"]]})
    for code, name, keywords, urgency, accept, arrive, hours in PROPERTY_ITEMS:
        item, _ = Item.objects.update_or_create(code=code, defaults=dict(
            scenario=scenario, name=name, keywords=keywords, default_urgency=urgency, department="物业",
            accept_limit=accept, arrive_limit=arrive, resolve_limit=Decimal(hours), active=True))
        if not RoutingRule.objects.filter(item=item).exists():
            RoutingRule.objects.create(item=item, path=path, note="物业事项先交小区的物业公司，社区兜底")
    return len(PROPERTY_ITEMS)


def build_property_cases(seed: int = 2024, per_company: int = 4) -> dict:
    """A few reports of 物业 items in the property users' compounds, through intake."""
    from gridgov.accounts.models import Role, User
    from gridgov.cases import services
    from gridgov.cases.models import Case, Item
    from gridgov.registry.models import Building
    from gridgov.registry.property import compounds_of_department

    rng = random.Random(seed * 37 + 3)
    if not Item.objects.filter(department="物业", active=True).exists():
        seed_property_items()
    residents = list(User.objects.filter(role=Role.RESIDENT, is_active=True).order_by("id"))
    _ids_after_max(Case)
    made = 0
    for staff in User.objects.filter(role=Role.PROPERTY_STAFF, username__in=PROPERTY_USERS).order_by("username"):
        buildings = list(Building.objects.filter(compound__in=compounds_of_department(staff.department), lat__isnull=False)
                         .select_related("compound").order_by("id")[:40])
        if not buildings or not residents:
            continue
        for k in range(per_company):
            b = rng.choice(buildings)
            code, text = PROPERTY_REPORTS[k % len(PROPERTY_REPORTS)]
            case, _ = services.submit_case(
                reporter=rng.choice(residents), channel="resident", text=text.format(b=f"{b.compound.name}{b.name}"),
                lon=b.lon, lat=b.lat, address=f"{b.compound.name}{b.name}", item=code)
            made += 1
            if k % 2 == 0 and case.handler_user_id == staff.pk:
                services.accept(case, staff, "物业已接单")
    return {"property_cases": made}
