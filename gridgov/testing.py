"""Builders for tests: a small street whose grids tile exactly, and users with scopes.

The small street: a 2 km × 1 km rectangle near 116.39E 39.79N, split into two communities
(west, east), each into two grids (north, south), each into two micro-grids (west, east)."""

from shapely.geometry import box

from gridgov.accounts.models import Duty, GridAssignment, Role, User
from gridgov.geo.models import GridNode

LON0, LAT0 = 116.38, 39.78
DLON, DLAT = 0.0234, 0.009  # about 2 km × 1 km at this latitude


def _node(code, name, level, parent, geom, kind=""):
    from gridgov.geo import services

    return services.save_node(
        GridNode(code=code, name=name, level=level, parent=parent, kind=kind), geom
    )


def make_small_street():
    """Return a dict of the nodes by short name: street, c1, c2, c1g1, c1g1m1, ..."""
    nodes = {}
    street = _node("110106001000000", "测试街道", 0, None, box(LON0, LAT0, LON0 + DLON, LAT0 + DLAT), "street")
    nodes["street"] = street
    for ci in range(2):
        cx0 = LON0 + ci * DLON / 2
        c = _node(
            f"110106001{ci + 1:03d}000",
            f"第{ci + 1}社区",
            1,
            street,
            box(cx0, LAT0, cx0 + DLON / 2, LAT0 + DLAT),
            "community",
        )
        nodes[f"c{ci + 1}"] = c
        for gi in range(2):
            gy1 = LAT0 + DLAT - gi * DLAT / 2
            g = _node(
                f"110106001{ci + 1:03d}{gi + 1:03d}",
                f"第{ci + 1}社区第{gi + 1}网格",
                2,
                c,
                box(cx0, gy1 - DLAT / 2, cx0 + DLON / 2, gy1),
                "grid",
            )
            nodes[f"c{ci + 1}g{gi + 1}"] = g
            for mi in range(2):
                mx0 = cx0 + mi * DLON / 4
                m = _node(
                    f"{g.code}{mi + 1:03d}",
                    f"{g.name}第{mi + 1}微网格",
                    3,
                    g,
                    box(mx0, gy1 - DLAT / 2, mx0 + DLON / 4, gy1),
                    "microgrid",
                )
                nodes[f"c{ci + 1}g{gi + 1}m{mi + 1}"] = m
    return nodes


def make_district():
    """The small street under a district (geo.services.add_root), with a second street east of
    it: one community, one grid. Returns the nodes of make_small_street plus district, s2,
    s2c1, s2c1g1 (re-read: the first street's nodes moved one level down)."""
    from gridgov.geo import services

    first = make_small_street()
    district = services.add_root(code="110106", name="测试区", kind="district")
    nodes = {k: GridNode.objects.get(pk=n.pk) for k, n in first.items()}
    nodes["district"] = district
    x0 = LON0 + DLON
    s2 = _node("110106002000000", "第二街道", 1, district, box(x0, LAT0, x0 + DLON / 2, LAT0 + DLAT), "street")
    c = _node("110106002001000", "第二街道第1社区", 2, s2, box(x0, LAT0, x0 + DLON / 2, LAT0 + DLAT), "community")
    g = _node("110106002001001", "第二街道第1社区第1网格", 3, c, box(x0, LAT0, x0 + DLON / 2, LAT0 + DLAT), "grid")
    nodes.update(s2=s2, s2c1=c, s2c1g1=g)
    return nodes


def make_user(username, role=Role.GRID_WORKER, nodes=(), duty=Duty.WORKER, password="a-long-test-password-1"):
    user = User.objects.create_user(username=username, password=password, role=role, display_name=username)
    for node in nodes:
        GridAssignment.objects.create(user=user, node=node, duty=duty)
    return user


def sent_code(phone: str, kind: str = "register_code") -> str:
    """The last code of `kind` (register_code, login_code) queued for `phone` (read from the
    outbox, as the SMS gateway or the console would get it)."""
    from gridgov.cases.models import Notification
    from gridgov.core.crypto import decrypt

    for n in Notification.objects.filter(kind=kind, recipient=None).order_by("-id"):
        if decrypt(n.payload["phone_enc"]) == phone and n.payload.get("secret_enc"):
            return decrypt(n.payload["secret_enc"])
    raise AssertionError(f"no code was sent to {phone}")


def make_property_company(name, compounds, grid=None):
    """A property company (registry Organization of kind property_company) with its Department
    (kind property) and one property project serving `compounds`. Returns (organization, department)."""
    from gridgov.accounts.models import Department
    from gridgov.registry import services as reg

    dep = Department.objects.create(name=name, kind=Department.Kind.PROPERTY)
    org = reg.create_organization(name=f"{name}服务有限公司", kind="property_company", grid=grid)
    org.department = dep
    org.save(update_fields=["department"])
    project = reg.create_property_project(name=f"{name}项目", company=org, grid=grid)
    project.compounds.set(compounds)
    return org, dep


def race(fn, n: int):
    """Run fn(i) in n threads released together, each on its own connection; return their
    results or the exceptions they raised (the outcome is what a race test checks).

    On PostgreSQL the threads overlap for real. The SQLite test database is a shared-cache
    in-memory database, which answers "table is locked" at once instead of waiting for the
    writer as a file database does, so there the threads take turns (as SQLite's write lock
    makes them do in production): the rule under test (exactly one wins, never over the
    places or the stock) must hold either way."""
    import threading

    from django.db import connection, connections

    barrier = threading.Barrier(n)
    results = [None] * n
    turns = threading.Lock() if connection.vendor == "sqlite" else None

    def run(i):
        try:
            barrier.wait(timeout=20)
            if turns is None:
                results[i] = fn(i)
            else:
                with turns:
                    results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - the outcome is what we test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results
