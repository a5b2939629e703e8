"""The access matrix: every role × every kind of record × every action, through the API and the
pages, over two communities, asserted against the ONE policy table (accounts.policy).

Each user is scoped to community c1 (a GridAssignment on c1). Each kind has one record in c1
and one in c2. For every cell the test derives the expected outcome from `policy.POLICY` and
checks the answer of the doors users use:

* list    — the API list (and the page list where one exists) holds exactly the allowed records;
            a role that may never list gets 403 (cases: 200 with only its own relations);
* read    — the API detail (and the page) answers 200 for an allowed record; otherwise exactly
            what a missing id answers (404, same body);
* create  — an import (registry), a report (cases), a ticket post (hotline), a child grid drawn
            on the map inside the grid (grids: /api/insight/grids/<code>/children) in c1 and c2;
* update  — an import with update (registry), a managing act (cases: reject), an address
            confirmation (tickets), a grid's polygon saved from the map (grids:
            /api/insight/grids/<code>/geometry, the same polygon);
* export  — an export job started on /exports/ (the worker's run, then its file) holds exactly the
            allowed rows;
* personal — the audited reveal of ID numbers / phones answers the plaintext only where allowed
            (cases: the reporter's identity in the detail); the export shows plaintext only there.
* the other cells (test_acts) — cases × handle (accept), verify (a case resolved by someone else),
            moderate (reject a held report, and the held list); routing × list / update (the rule
            table's API), words × list / update (the sensitive words), settings × update (the
            hotline rate settings), insight × read (a map layer, holding exactly the readable cases),
            exports × read (another user's export job page), duties × list / read / create / update
            (the duties API on c1: list a grid's duties, read one, assign one, end one; the
            refusals outside the scope are in cases/tests/test_duties.py and
            accounts/tests/test_duties_api.py).
            exports × read (another user's export job page), staff × list / read / create / update
            (/api/accounts/users: the list, a grid worker of c1, a new grid worker, a new name).
Grids have no export door over HTTP (operators use `gridgov export-grids`): the test checks none
answers.

The data is built once per module (inside a transaction rolled back at the end); every test
runs in its own savepoint."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from gridgov.accounts import policy
from gridgov.accounts.models import STAFF_ROLES, GridAssignment, User
from gridgov.core.validators import id_check_char

SIDES = ("c1", "c2")
ROLES = policy.ROLES
KINDS = ("residents", "houses", "addresses", "organizations", "places", "party_orgs", "volunteers", "cases",
         "tickets", "grids")
REGISTRY = KINDS[:7]
SEGMENT = {k: k.replace("_", "-") for k in KINDS}  # url segment
PAGE_LIST = {"residents", "houses", "organizations", "places", "party_orgs", "volunteers"}
EXPORTABLE = {"residents", "houses", "addresses", "organizations", "places", "party_orgs", "volunteers"}


def make_id(seq: int, birth="19600101") -> str:
    first = f"110106{birth}{seq:03d}"
    return first + id_check_char(first)


def point(side):
    from gridgov.testing import DLAT, DLON, LAT0, LON0

    x = LON0 + (0 if side == "c1" else DLON / 2) + DLON / 8
    return x, LAT0 + 0.75 * DLAT


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield _build()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _build():
    from gridgov.cases.models import Case
    from gridgov.cases.taxonomy import seed_taxonomy
    from gridgov.hotline.models import Ticket
    from gridgov.registry import services as reg
    from gridgov.registry.models import Compound, VolunteerTeam
    from gridgov.testing import make_small_street

    seed_taxonomy()
    nodes = make_small_street()
    w = {"nodes": nodes, "rec": {k: {} for k in KINDS}, "plain": {}}
    now = timezone.now()
    for n, side in enumerate(SIDES, start=1):
        c, g, m = nodes[side], nodes[f"{side}g1"], nodes[f"{side}g1m1"]
        lon, lat = point(side)
        compound = reg.create_compound(name=f"{side}小区", community=c, grid=c)
        building = reg.create_building(compound=compound, name="1号楼", grid=m)
        addrs = []
        for room in ("101", "102"):
            addrs.append(reg.create_address(
                code=f"M{side.upper()}{room}", level="house", community=c, compound=compound, building=building,
                unit="1单元", room=room, text=f"{c.name}{side}小区1号楼1单元{room}", grid=m, lon=lon, lat=lat))
        w[f"spare_{side}"] = addrs[1]  # an address without a house
        house = reg.create_house(address=addrs[0])
        idn, phone = make_id(n), f"1390000{n:04d}"
        res = reg.create_resident(name=f"居民{side}甲", id_number=idn, phone=phone, house=house)
        org = reg.create_organization(name=f"单位{side}甲", kind="shop", grid=m, phone=f"1380000{n:04d}")
        place = reg.create_place(name=f"场所{side}甲", kind="other", lat=lat, lon=lon, grid=m)
        party = reg.create_party_org(name=f"支部{side}甲", grid=g, grids=[g])
        team = VolunteerTeam.objects.create(name=f"队{side}", kind="patrol", grid=c)
        vol = reg.create_volunteer(name=f"志愿者{side}甲", kind="volunteer", phone=f"1370000{n:04d}", grid=m, team=team)
        case = Case.objects.create(
            channel="patrol", text=f"事件{side}甲", lon=lon, lat=lat, grid=m, grid_path=m.path, state="dispatched",
            number=f"T{side}", created_at=now, updated_at=now)
        ticket = Ticket.objects.create(
            ticket_id=f"TK{side}", received_at=now - timedelta(days=1), month=timezone.localtime(now).strftime("%Y-%m"),
            content=f"工单{side}甲", grid=m, community=c, address_match="pending", category_l1="城市管理")
        for kind, obj in (("residents", res), ("houses", house), ("addresses", addrs[0]), ("organizations", org),
                          ("places", place), ("party_orgs", party), ("volunteers", vol), ("cases", case),
                          ("tickets", ticket), ("grids", g)):
            w["rec"][kind][side] = obj
        w["plain"][side] = {"residents": idn, "organizations": org.phone_masked and f"1380000{n:04d}",
                            "volunteers": f"1370000{n:04d}", "resident_phone": phone}
    # two property companies, one compound in each community; the property user works for c1's
    from gridgov.testing import make_property_company

    for side in SIDES:
        compound = Compound.objects.get(name=f"{side}小区")
        w[f"company_{side}"] = make_property_company(f"{side}物业", [compound], nodes[side])
    reporter = User.objects.create(username="reporter", role="resident")
    Case.objects.filter(number__in=["Tc1", "Tc2"]).update(reporter=reporter)
    w["users"] = {}
    for role in ROLES:
        u = User.objects.create(username=f"u_{role}", role=role, display_name=role,
                                department="c1物业" if role == "property_staff" else "")
        GridAssignment.objects.create(user=u, node=nodes["c1"], duty="staff")
        w["users"][role] = u
    return w


def client_for(world, role) -> Client:
    c = Client()
    c.force_login(world["users"][role])
    return c


def expected(role, kind, action) -> set:
    """The sides whose record the role may act on."""
    r = policy.POLICY[(role, kind, action)]
    return {policy.NEVER: set(), policy.OWN: {"c1"}, policy.ALL: {"c1", "c2"}}[r]


def marker(world, kind, side) -> str:
    o = world["rec"][kind][side]
    return {"houses": lambda: o.address.text, "addresses": lambda: o.text, "cases": lambda: o.text,
            "tickets": lambda: o.content, "grids": lambda: o.name}.get(kind, lambda: o.name)()


def ident(world, kind, side):
    o = world["rec"][kind][side]
    return o.code if kind == "grids" else o.pk


# ---- list -------------------------------------------------------------------------------


def _api_list(c, kind):
    if kind in REGISTRY:
        return c.get(f"/api/registry/{SEGMENT[kind]}", {"page_size": 200})
    return c.get({"cases": "/api/cases/", "tickets": "/api/hotline/tickets", "grids": "/api/geo/grids"}[kind])


def _ids(kind, body):
    if kind == "cases":
        return {i["id"] for i in body}
    if kind == "tickets":
        return {i["id"] for i in body["tickets"]}
    if kind == "grids":
        return {f["properties"]["code"] for f in body["features"]}
    return {i["id"] for i in body["items"]}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_list(world, db, role, kind):
    c = client_for(world, role)
    want = expected(role, kind, "list")
    resp = _api_list(c, kind)
    if not want and kind not in policy.RELATIONAL:
        assert resp.status_code == 403
    else:
        assert resp.status_code == 200
        got = {s for s in SIDES if ident(world, kind, s) in _ids(kind, resp.json())}
        assert got == want
    if kind in PAGE_LIST:
        page = c.get(f"/records/{SEGMENT[kind]}/")
        if not want:
            assert page.status_code == 403
        else:
            html = page.content.decode()
            assert page.status_code == 200
            assert {s for s in SIDES if marker(world, kind, s) in html} == want


# ---- read -------------------------------------------------------------------------------


def _api_detail(c, kind, ident_):
    if kind in REGISTRY:
        return c.get(f"/api/registry/{SEGMENT[kind]}/{ident_}")
    return c.get({"cases": f"/api/cases/{ident_}", "tickets": f"/api/hotline/tickets/{ident_}",
                  "grids": f"/api/geo/grids/{ident_}"}[kind])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_read(world, db, role, kind):
    c = client_for(world, role)
    want = expected(role, kind, "read")
    missing = _api_detail(c, kind, "110106009009009" if kind == "grids" else 987654)
    assert missing.status_code == 404
    for side in SIDES:
        resp = _api_detail(c, kind, ident(world, kind, side))
        if side in want:
            assert resp.status_code == 200, (side, resp.content)
            assert marker(world, kind, side) in json.dumps(resp.json(), ensure_ascii=False) or kind in ("houses", "addresses")
        else:  # a forbidden record answers exactly like a missing one
            assert (resp.status_code, resp.content) == (missing.status_code, missing.content), side
    page_url = {"residents": "/residents/{}/", "grids": "/grids/{}/"}.get(kind)
    if page_url:
        missing = c.get(page_url.format("110106009009009" if kind == "grids" else 987654))
        for side in SIDES:
            resp = c.get(page_url.format(ident(world, kind, side)))
            if side in want:
                assert resp.status_code == 200 and marker(world, kind, side) in resp.content.decode()
            else:
                assert resp.status_code == missing.status_code in (403, 404)


# ---- create / update ----------------------------------------------------------------------


def _csv(rows: list[list]) -> io.BytesIO:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    f = io.BytesIO(buf.getvalue().encode("utf-8"))
    f.name = "rows.csv"
    return f


def _registry_rows(world, kind, side, update: bool) -> list[list]:
    nodes = world["nodes"]
    m = nodes[f"{side}g1m1"]
    rec = world["rec"][kind][side]
    lon, lat = point(side)
    n = 1 if side == "c1" else 2
    if kind == "addresses":
        code = rec.code if update else f"NEW{side}"
        return [["标准地址编码", "地址全称", "所属网格"], [code, f"新地址{side}", m.code]]
    if kind == "houses":
        addr = rec.address.code if update else world[f"spare_{side}"].code
        return [["标准地址编码", "房屋用途"], [addr, "商业"]]
    if kind == "residents":
        idn = world["plain"][side]["residents"] if update else make_id(50 + n)
        addr = world["rec"]["houses"][side].address.code
        return [["姓名", "身份证号", "现住址(标准地址编码)"], [f"新居民{side}", idn, addr]]
    if kind == "organizations":
        return [["单位名称", "单位类型", "所属网格", "从业人数"], [rec.name if update else f"新单位{side}", "商户", m.code, 3]]
    if kind == "places":
        return [["场所名称", "场所类型", "经度", "纬度", "所属网格", "备注"],
                [rec.name if update else f"新场所{side}", "其他", lon, lat, m.code, "改"]]
    if kind == "party_orgs":
        return [["组织名称", "所属节点", "书记"], [rec.name if update else f"新支部{side}", nodes[f"{side}g1"].code, "王"]]
    if kind == "volunteers":
        phone = world["plain"][side]["volunteers"] if update else f"1360000{n:04d}"
        return [["姓名", "类型", "联系电话", "所属网格", "职责"], [rec.name if update else f"新志愿者{side}", "志愿者", phone, m.code, "信息员"]]
    raise AssertionError(kind)


def _try_create(world, c, kind, side) -> int:
    """The status of a create in `side`: 2xx means done."""
    lon, lat = point(side)
    if kind in REGISTRY:
        return c.post(f"/api/registry/import/{kind}", {"file": _csv(_registry_rows(world, kind, side, False))}).status_code
    if kind == "cases":
        return c.post("/api/cases/", {"text": f"新事件{side}：路灯坏了", "lon": lon, "lat": lat}).status_code
    if kind == "tickets":
        body = [{"ticket_id": f"NEW{side}", "received_at": "2025-03-01 09:00", "content": "新工单", "category": "城市管理",
                 "lat": lat, "lon": lon, "address": world["rec"]["addresses"][side].text}]
        return c.post("/api/hotline/tickets", json.dumps(body), content_type="application/json").status_code
    return c.post(f"/api/insight/grids/{world['rec']['grids'][side].code}/children",
                  json.dumps({"geometry": _inner_box(world["rec"]["grids"][side]), "name": f"新网格{side}"}),
                  content_type="application/json").status_code


def _try_update(world, c, kind, side) -> int:
    rec = world["rec"][kind][side]
    if kind in REGISTRY:
        return c.post(f"/api/registry/import/{kind}", {"file": _csv(_registry_rows(world, kind, side, True)),
                                                       "update": "true"}).status_code
    if kind == "cases":
        return c.post(f"/api/cases/{rec.pk}/actions/reject", json.dumps({"note": "不属实"}),
                      content_type="application/json").status_code
    if kind == "tickets":
        addr = world["rec"]["addresses"][side]
        return c.post(f"/api/hotline/tickets/{rec.pk}/address", json.dumps({"address_id": addr.pk}),
                      content_type="application/json").status_code
    return c.post(f"/api/insight/grids/{rec.code}/geometry", json.dumps({"geometry": rec.geometry().__geo_interface__}),
                  content_type="application/json").status_code


def _inner_box(node) -> dict:
    """A GeoJSON polygon well inside `node` (a child the tiling check accepts)."""
    from shapely.geometry import box, mapping

    w, h = node.max_lon - node.min_lon, node.max_lat - node.min_lat
    return mapping(box(node.min_lon + w / 4, node.min_lat + h / 4, node.max_lon - w / 4, node.max_lat - h / 4))


@pytest.mark.parametrize("action", ["create", "update"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_create_update(world, db, role, kind, action):
    c = client_for(world, role)
    want = expected(role, kind, action)
    attempt = _try_create if action == "create" else _try_update
    for side in SIDES:
        sid = transaction.savepoint()
        status = attempt(world, c, kind, side)
        transaction.savepoint_rollback(sid)
        if side in want:
            assert status in (200, 201), (side, status)
        elif not want:
            # never: refused outright (403), or the record is not even visible (404)
            assert status in (403, 404), (side, status)
        else:
            # own scope, the other community: refused (400 import report / 403 / 404 invisible)
            assert status in (400, 403, 404), (side, status)


def _try_one_record(world, c, kind, side, update: bool) -> int:
    """The same create / update as `_registry_rows`, through the one-record door (POST
    /api/registry/{kind}, PATCH /api/registry/{kind}/{id} with the version read)."""
    from gridgov.registry.importers import RECORD_SPECS, _norm_header

    head, row = _registry_rows(world, kind, side, update)
    cols = RECORD_SPECS[kind].header_map()
    data = {cols[_norm_header(h)].field: v for h, v in zip(head, row)}
    segment = kind.replace("_", "-")
    if not update:
        return c.post(f"/api/registry/{segment}", json.dumps(data), content_type="application/json").status_code
    rec = world["rec"][kind][side]
    data["version"] = type(rec).objects.get(pk=rec.pk).version
    return c.patch(f"/api/registry/{segment}/{rec.pk}", json.dumps(data), content_type="application/json").status_code


@pytest.mark.parametrize("kind", [k for k in REGISTRY if k != "addresses"])
@pytest.mark.parametrize("role", ROLES)
def test_create_update_one_record(world, db, role, kind):
    """The pages' and the API's one-record door follows the same cells as the import."""
    c = client_for(world, role)
    for action in ("create", "update"):
        want = expected(role, kind, action)
        for side in SIDES:
            sid = transaction.savepoint()
            status = _try_one_record(world, c, kind, side, action == "update")
            transaction.savepoint_rollback(sid)
            if side in want:
                assert status in (200, 201), (action, side, status)
            elif not want:
                assert status in (403, 404), (action, side, status)
            else:
                assert status in (400, 403, 404), (action, side, status)


# ---- export and personal data -------------------------------------------------------------


def _xlsx_text(content: bytes) -> str:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join("\t".join("" if v is None else str(v) for v in row) for row in wb.active.iter_rows(values_only=True))


def _export(c, kind):
    """Start an export job on the page, run it as the worker would, fetch its file."""
    from gridgov.registry import exporters

    resp = c.post("/exports/", {"kind": kind})
    if resp.status_code != 302:
        return resp.status_code, resp.content
    job = exporters.run_job(resp["Location"].strip("/").split("/")[-1])
    resp = c.get(f"/exports/{job.pk}/file")
    return resp.status_code, b"".join(resp.streaming_content) if resp.status_code == 200 else resp.content


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_export(world, db, settings, tmp_path, role, kind):
    settings.DATA_DIR = tmp_path
    c = client_for(world, role)
    want = expected(role, kind, "export")
    status, content = _export(c, kind)
    if kind not in EXPORTABLE:
        assert not want and status in (403, 404)
        return
    if not want:
        assert status == 403
        return
    assert status == 200
    text = _xlsx_text(content)
    assert {s for s in SIDES if marker(world, kind, s) in text} == want
    # plaintext personal data in the export exactly where the role may read it
    if kind in ("residents", "organizations", "volunteers"):
        may = expected(role, kind, "personal")
        assert {s for s in SIDES if world["plain"][s][kind] in text} == may & want


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_personal(world, db, role, kind):
    from gridgov.core.models import AuditEntry

    c = client_for(world, role)
    want = expected(role, kind, "personal")
    visible = expected(role, kind, "read")
    for side in SIDES:
        rec = world["rec"][kind][side]
        if kind in ("residents", "organizations", "volunteers"):
            field = "id_number" if kind == "residents" else "phone"
            before = AuditEntry.objects.filter(action="reveal").count()
            resp = c.post(f"/api/registry/{kind}/{rec.pk}/reveal", json.dumps({"field": field}),
                          content_type="application/json")
            if side in want:
                assert resp.status_code == 200 and resp.json()["value"] == world["plain"][side][kind]
                assert AuditEntry.objects.filter(action="reveal").count() == before + 1
            else:
                assert resp.status_code == (403 if side in visible else 404), (side, resp.status_code)
                assert world["plain"][side][kind] not in resp.content.decode()
                assert AuditEntry.objects.filter(action="reveal").count() == before
        elif kind == "cases":
            resp = c.get(f"/api/cases/{rec.pk}")
            if side in want:
                assert resp.json()["reporter"]["username"] == "reporter"
            else:
                assert "reporter" not in resp.content.decode()
        else:  # no personal data held: no reveal door
            if kind in REGISTRY:
                url = f"/api/registry/{SEGMENT[kind]}/{rec.pk}/reveal"
            else:
                url = f"/api/{'hotline/tickets' if kind == 'tickets' else 'geo/grids'}/{ident(world, kind, side)}/reveal"
            resp = c.post(url, json.dumps({"field": "phone"}), content_type="application/json")
            assert not want and resp.status_code in (404, 405)


# ---- acts beyond the records ----------------------------------------------------------------
# Every other cell of the table (cases × handle / verify / moderate; routing, words, settings,
# insight): probed through its door, the expected outcome read from the table.

#: (kind, action) cells that are not a record kind's list..personal (those are probed above)
ACTS = sorted({(k, a) for (_, k, a) in policy.POLICY if k not in policy.RECORD_KINDS or a not in policy.RECORD_ACTIONS})
#: the cells whose door acts on one case (the others are not territorial: allowed or 403)
CASE_ACTS = {("cases", "handle"), ("cases", "verify"), ("cases", "moderate")}


def _post(c, url, body, method="post"):
    return getattr(c, method)(url, json.dumps(body), content_type="application/json")


def _try_case_act(world, c, role, action, side) -> tuple[int, bool | None]:
    """The status of the act on the case in `side`, and whether the pages offer its button
    (`services.may_act`, None when the act has no button there)."""
    from gridgov.cases import services
    from gridgov.cases.models import Case

    case = world["rec"]["cases"][side]
    user = User.objects.get(pk=world["users"][role].pk)
    if action == "handle":  # dispatched, no handler named: staff of the grid accept it
        shown = services.may_act(user, Case.objects.get(pk=case.pk), "accept")
        return _post(c, f"/api/cases/{case.pk}/actions/accept", {"note": "收到"}).status_code, shown
    if action == "verify":  # resolved by someone else
        Case.objects.filter(pk=case.pk).update(state="resolved", resolved_by=world["users"]["grid_worker"],
                                               resolved_at=timezone.now())
        shown = services.may_act(user, Case.objects.get(pk=case.pk), "verify")
        return _post(c, f"/api/cases/{case.pk}/actions/verify", {"passed": True, "note": "属实"}).status_code, shown
    Case.objects.filter(pk=case.pk).update(held=True, held_reason="词")  # moderate
    return _post(c, f"/api/cases/{case.pk}/moderate", {"decision": "reject", "note": "不予受理"}).status_code, None


def _try_act(c, kind, action):
    """The response of the (non-territorial) door of `kind` × `action`."""
    from gridgov.cases.models import RoutingPath

    if (kind, action) == ("routing", "list"):
        return c.get("/api/cases/routing/rules")
    if (kind, action) == ("routing", "update"):
        path = RoutingPath.objects.order_by("id").first().code
        return _post(c, "/api/cases/routing/rules", {"path": path, "priority": 7, "note": "矩阵"})
    if (kind, action) == ("words", "list"):
        return c.get("/api/cases/words")
    if (kind, action) == ("words", "update"):
        return _post(c, "/api/cases/words", {"word": "矩阵测试词"})
    if (kind, action) == ("settings", "update"):
        return _post(c, "/api/hotline/settings", {"min_sample": 7}, "put")
    if (kind, action) == ("insight", "read"):
        return c.get("/api/insight/layers/cases")
    if (kind, action) == ("taxonomy", "list"):
        return c.get("/api/cases/taxonomy/items")
    if (kind, action) == ("taxonomy", "update"):
        from gridgov.cases.models import Item

        return _post(c, f"/api/cases/taxonomy/items/{Item.objects.order_by('id').first().code}", {"keywords": "矩阵"}, "put")
    if (kind, action) == ("settings", "list"):
        return c.get("/api/settings/")
    if kind == "departments":  # the department records (accounts.api_departments)
        from gridgov.accounts.models import Department

        dep = Department.objects.get(name="c1物业")
        if action == "list":
            return c.get("/api/accounts/departments")
        if action == "read":
            return c.get(f"/api/accounts/departments/{dep.pk}")
        if action == "create":
            return _post(c, "/api/accounts/departments", {"name": "矩阵科", "kind": "section"})
        return _post(c, f"/api/accounts/departments/{dep.pk}", {"contact_name": "矩阵"}, "patch")
    if (kind, action) == ("exports", "read"):  # someone else's export job
        from gridgov.registry.models import ExportJob

        job = ExportJob.objects.create(requested_by=User.objects.get(username="reporter"), kind="places")
        return c.get(f"/exports/{job.pk}/")
    if kind == "duties":  # the duties of the grids in c1 (every user holds a duty on c1)
        worker = User.objects.get(username="u_grid_worker")
        if action == "list":
            return c.get(f"/api/accounts/duties?grid={worker.assignments.get().node.code}")
        if action == "read":
            return c.get(f"/api/accounts/duties/{worker.assignments.get().pk}")
        if action == "create":
            grid = GridAssignment.objects.get(user=worker).node.children.order_by("code").first()
            return _post(c, "/api/accounts/duties", {"user": worker.pk, "grid": grid.code, "duty": "worker"})
        if action == "update":
            return _post(c, f"/api/accounts/duties/{worker.assignments.get().pk}/end", {"note": "矩阵"})
    if (kind, action) == ("apikeys", "list"):
        return c.get("/apikeys/")
    if (kind, action) == ("apikeys", "create"):
        return c.post("/apikeys/", {"name": "矩阵客户端", "rate_per_minute": "5"})
    if (kind, action) == ("apikeys", "update"):
        from gridgov.open311 import services as open311

        key, _ = open311.create_key("矩阵密钥")
        return c.post(f"/apikeys/{key.pk}/rate/", {"rate_per_minute": "7"})
    if kind == "staff":  # staff accounts: a grid worker with a duty in c1 (every own grant's community)
        target = User.objects.get(username="u_grid_worker")
        if action == "list":
            return c.get("/api/accounts/users")
        if action == "read":
            return c.get(f"/api/accounts/users/{target.pk}")
        if action == "create":
            return _post(c, "/api/accounts/users", {"username": "matrix_new", "display_name": "矩阵", "role": "grid_worker"})
        if action == "update":
            return _post(c, f"/api/accounts/users/{target.pk}", {"display_name": "矩阵改名"}, "patch")
    if (kind, action) == ("points", "list"):
        return c.get("/api/volunteers/points/accounts")
    if (kind, action) == ("points", "update"):
        return _post(c, "/api/volunteers/points/rules/grab", {"points": 12}, "put")
    if kind == "activities":  # volunteer activities on c1's grid (every user is scoped to c1)
        from gridgov.geo.models import GridNode
        from gridgov.volunteers.models import Activity

        grid = GridNode.objects.get(code="110106001001001")
        start = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
        if action == "list":
            return c.get("/api/volunteers/activities", {"scope": "staff"})
        if action == "create":
            return _post(c, "/api/volunteers/activities", {
                "title": "矩阵活动", "grid": grid.code, "place_name": "广场", "lat": 39.785, "lon": 116.39,
                "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(), "places": 5})
        if action == "update":  # someone else's activity: cancelled by staff who may update it
            a = Activity.objects.create(title="矩阵活动", node=grid, organiser=User.objects.get(username="reporter"),
                                        place_name="广场", lat=39.785, lon=116.39, starts_at=start,
                                        ends_at=start + timedelta(hours=2), places=5, code_secret="x" * 64,
                                        created_at=timezone.now())
            return _post(c, f"/api/volunteers/activities/{a.pk}/cancel", {"reason": "矩阵"})
    if kind == "wishes":  # the wish wall: c1's special-care resident, a wish of theirs posted by someone else
        from gridgov.registry.models import Resident
        from gridgov.volunteers.models import Wish

        res = Resident.objects.get(name="居民c1甲")
        if action == "create":  # post one for a resident (a grid worker for a neighbour)
            return _post(c, "/api/volunteers/wishes", {"resident": res.pk, "title": "矩阵心愿"})
        wish = Wish.objects.create(title="矩阵心愿", node=res.grid, resident=res, person_name=res.name,
                                   entered_by=User.objects.get(username="reporter"), created_at=timezone.now())
        if action == "list":
            return c.get("/api/volunteers/wishes?scope=staff")
        if action == "update":  # cancel someone else's wish
            return _post(c, f"/api/volunteers/wishes/{wish.pk}/cancel", {"reason": "矩阵"})
        return c.get(f"/api/volunteers/wishes/{wish.pk}/person")  # personal: whose wish it is
    if (kind, action) == ("party", "list"):  # the 双报到 roll (scoped to the communities in scope)
        return c.get("/api/volunteers/party/roll")
    if (kind, action) == ("party", "update"):  # a vanguard post on a grid of c1
        from gridgov.geo.models import GridNode

        grid = GridNode.objects.get(name="第1社区第1网格").code
        return _post(c, "/api/volunteers/party/posts", {"name": "矩阵先锋岗", "grid": grid})
    if (kind, action) in (("deliberation", "create"), ("deliberation", "update")):  # 平台议, on a grid of c1
        from gridgov.deliberation import services as deliberation
        from gridgov.geo.models import GridNode

        grid = GridNode.objects.get(code="110106001001001")
        if action == "create":  # staff enter a topic (a letterbox slip) for a resident
            return _post(c, "/api/deliberation/platform/topics", {"title": "矩阵议题", "node": grid.code,
                                                                  "channel": "letterbox", "person_name": "矩阵"})
        t = deliberation.create_topic(None, title="矩阵议题", node=grid, channel="staff")  # move it one phase on
        return _post(c, f"/api/deliberation/platform/topics/{t.pk}/advance", {"version": t.version})
    if (kind, action) == ("deliberation", "list"):  # the staff's list of topics (deliberation.api_proposals)
        return c.get("/api/deliberation/topics", {"scope": "staff"})
    if (kind, action) == ("deliberation", "moderate"):  # the held comments of deliberation's topics
        return c.get("/api/deliberation/topics/held")
    if kind == "property":  # the property alliance's inspections of c1's property project
        from gridgov.property import services as property_services
        from gridgov.registry.models import PropertyProject

        project = PropertyProject.objects.get(name="c1物业项目")
        if action == "list":
            return c.get("/api/property/inspections")
        if action == "create":  # plan an inspection
            return _post(c, "/api/property/inspections", {"project": project.pk,
                                                          "planned_on": timezone.localdate().isoformat()})
        if action == "update":  # cancel someone else's planned inspection
            insp = property_services.plan_inspection(User.objects.get(username="u_admin"), project,
                                                     planned_on=timezone.localdate())
            return _post(c, f"/api/property/inspections/{insp.pk}/cancel", {"reason": "矩阵"})
    if (kind, action) in (("gridwork", "list"), ("gridwork", "create")):  # the grid worker's day
        from gridgov.registry.models import House

        if action == "list":  # the scope's patrols (one's own need no right: scope=mine)
            return c.get("/api/gridwork/day/patrols", {"scope": "staff"})
        house = House.objects.get(address__code="MC1101")  # a household visit in c1
        return _post(c, "/api/gridwork/day/visits", {"house": house.pk, "note": "矩阵走访"})
    if (kind, action) == ("gridwork", "update"):  # a leader's mark of c1's grid worker this quarter
        from gridgov.gridwork import periods

        from gridgov.geo.models import GridNode

        quarter = periods.period_of(timezone.localdate(), "quarter").key
        worker, made = User.objects.get_or_create(username="u_marked", defaults={"role": "grid_worker"})
        if made:  # a grid worker on a grid of c1
            GridAssignment.objects.create(user=worker, node=GridNode.objects.get(code="110106001001001"), duty="worker")
        return _post(c, "/api/gridwork/assess/marks", {"period": quarter, "user": worker.pk, "mark": 85})
    if kind == "disputes":  # disputes (矛盾纠纷) on a grid of c1
        from gridgov.geo.models import GridNode
        from gridgov.gridwork import disputes

        grid = GridNode.objects.get(code="110106001001001")
        if action == "list":
            return c.get("/api/gridwork/disputes/")
        if action == "create":
            return _post(c, "/api/gridwork/disputes/", {"kind": "neighbour", "summary": "矩阵纠纷", "grid": grid.pk,
                                                        "parties": [{"name": "矩阵", "phone": "13800000000"}]})
        d = disputes.record_dispute(User.objects.get(username="u_admin"), "neighbour", "矩阵纠纷",
                                    [("矩阵", "13800000000", "", None)], grid=grid)
        if action == "update":  # someone else's dispute: raise its risk
            return _post(c, f"/api/gridwork/disputes/{d.pk}/risk", {"risk": "medium"})
        return c.get(f"/api/gridwork/disputes/{d.pk}/phones")  # personal: the parties' clear phones
    raise AssertionError(f"no door probed for {kind} × {action}: add one")


@pytest.mark.parametrize("kind_action", ACTS, ids=lambda ka: "-".join(ka))
@pytest.mark.parametrize("role", ROLES)
def test_acts(world, db, role, kind_action):
    _check_act(world, role, *kind_action)


@pytest.mark.parametrize("kind_action", ACTS, ids=lambda ka: "-".join(ka))
def test_acts_follow_the_table(world, db, monkeypatch, kind_action):
    """The table is the only source: flip community staff's cell (never → all, else → never)
    and the door and the buttons follow."""
    kind, action = kind_action
    cell = ("community_staff", kind, action)
    monkeypatch.setitem(policy.POLICY, cell, policy.ALL if policy.POLICY[cell] == policy.NEVER else policy.NEVER)
    _check_act(world, "community_staff", kind, action)


def _check_act(world, role, kind, action):
    kind_action = (kind, action)
    c = client_for(world, role)
    want = expected(role, kind, action)
    if kind_action in CASE_ACTS:
        for side in SIDES:
            sid = transaction.savepoint()
            status, shown = _try_case_act(world, c, role, action, side)
            transaction.savepoint_rollback(sid)
            if side in want:
                assert status == 200, (side, status)
            else:  # refused (403), or the case is not even visible (404)
                assert status in (403, 404), (side, status)
            assert shown in (None, side in want), (side, shown)
        if action == "moderate":  # the held list: 403, or exactly the held cases the role moderates
            from gridgov.cases.models import Case

            sid = transaction.savepoint()
            Case.objects.filter(number__in=["Tc1", "Tc2"]).update(held=True)
            resp = c.get("/api/cases/held")
            transaction.savepoint_rollback(sid)
            if not want:
                assert resp.status_code == 403
            else:
                assert resp.status_code == 200
                assert {s for s in SIDES if ident(world, "cases", s) in {i["id"] for i in resp.json()}} == want
        return
    sid = transaction.savepoint()
    resp = _try_act(c, kind, action)
    transaction.savepoint_rollback(sid)
    if not want:  # refused; someone else's export job is invisible (404 like a missing one)
        assert resp.status_code == (404 if kind == "exports" and role in STAFF_ROLES else 403), resp.status_code
        return
    assert resp.status_code in (200, 201), (resp.status_code, resp.content)
    if kind == "insight":  # the layer stays scoped: exactly the cases the role reads
        got = {f["properties"]["id"] for f in resp.json()["features"]}
        assert {s for s in SIDES if ident(world, "cases", s) in got} == expected(role, "cases", "read")


def test_every_act_has_a_door():
    doors = {("routing", "list"), ("routing", "update"), ("words", "list"), ("words", "update"),
             ("settings", "update"), ("insight", "read"), ("exports", "read"),
             ("taxonomy", "list"), ("taxonomy", "update"), ("settings", "list"),
             ("duties", "list"), ("duties", "read"), ("duties", "create"), ("duties", "update"),
             ("apikeys", "list"), ("apikeys", "create"), ("apikeys", "update"),
             ("staff", "list"), ("staff", "read"), ("staff", "create"), ("staff", "update"),
             ("departments", "list"), ("departments", "read"), ("departments", "create"), ("departments", "update"),
             ("points", "list"), ("points", "update"),
             ("activities", "list"), ("activities", "create"), ("activities", "update"),
             ("wishes", "list"), ("wishes", "create"), ("wishes", "update"), ("wishes", "personal"),
             ("party", "list"), ("party", "update"),
             ("deliberation", "list"), ("deliberation", "moderate")} | CASE_ACTS
    doors |= {("deliberation", "create"), ("deliberation", "update")}  # deliberation: the platform's doors
    doors |= {("property", "list"), ("property", "create"), ("property", "update")}  # the inspections' doors
    doors |= {("gridwork", "list"), ("gridwork", "create")}  # the day's doors (patrols, visits)
    doors |= {("gridwork", "update")}  # the assessment's: a leader's mark
    doors |= {("disputes", "list"), ("disputes", "create"), ("disputes", "update"), ("disputes", "personal")}
    assert set(ACTS) == doors, "a cell of the policy table has no door probed here"


def test_policy_table_is_complete():
    for role in ROLES:
        for kind in KINDS:
            for action in policy.RECORD_ACTIONS:
                assert (role, kind, action) in policy.POLICY
        for kind, action in ACTS:
            assert (role, kind, action) in policy.POLICY


# ---- property staff ---------------------------------------------------------------------


def test_property_staff_see_only_their_companys_compounds(world, db):
    """A property user (c1物业) sees and handles the cases routed to their company in its
    compound, never those of the other company's compound (c2), never a case in their compound
    routed elsewhere, and no residents."""
    from gridgov.cases import services
    from gridgov.cases.models import Case
    from gridgov.registry.models import Compound

    now = timezone.now()
    made = {}
    for side in SIDES:
        m = world["nodes"][f"{side}g1m1"]
        lon, lat = point(side)
        for dept in (f"{side}物业", "城市管理办公室"):
            made[(side, dept)] = Case.objects.create(
                channel="patrol", text=f"物业{side}{dept}", lon=lon, lat=lat, grid=m, grid_path=m.path,
                state="dispatched", number=f"P{side}{dept}", created_at=now, updated_at=now,
                compound=Compound.objects.get(name=f"{side}小区"), handler_department=dept)
    # the other company's case named (by mistake) to c1物业: still not theirs
    stray = made[("c2", "c2物业")]
    c = client_for(world, "property_staff")
    user = User.objects.get(pk=world["users"]["property_staff"].pk)
    mine = made[("c1", "c1物业")]
    listed = {x["id"] for x in c.get("/api/cases/").json()}
    assert listed == {mine.pk}
    assert c.get(f"/api/cases/{mine.pk}").status_code == 200
    for key, case in made.items():
        if case.pk != mine.pk:
            assert c.get(f"/api/cases/{case.pk}").status_code == 404, key
            assert not services.may_handle(user, case), key
    assert services.may_handle(user, mine)
    assert _post(c, f"/api/cases/{mine.pk}/actions/accept", {"note": "收到"}).status_code == 200
    # no residents nor any base data of either community
    for kind in REGISTRY:
        assert c.get(f"/api/registry/{SEGMENT[kind]}").status_code == 403, kind
    # the other company's user sees the c2 case only
    other = User.objects.create(username="u_property_c2", role="property_staff", department="c2物业")
    c2 = Client()
    c2.force_login(other)
    assert {x["id"] for x in c2.get("/api/cases/").json()} == {made[("c2", "c2物业")].pk}
    Case.objects.filter(pk=stray.pk).update(handler_department="c1物业")
    assert c.get(f"/api/cases/{stray.pk}").status_code == 404
