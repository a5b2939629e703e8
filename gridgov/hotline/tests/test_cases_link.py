"""A hotline ticket opens a case in the street's loop (cases.services.submit_case, channel
"hotline"); re-imports never open a second one; the ticket reads its case's state through."""

import io

import pytest
from django.core.management import call_command

from gridgov.accounts.models import Duty, GridAssignment, Role
from gridgov.cases import services as cases
from gridgov.cases.models import Case, Channel, Item, State
from gridgov.cases.tests.images import png as _png
from gridgov.hotline import services
from gridgov.hotline.models import Ticket
from gridgov.testing import make_user

from .util import point_in


@pytest.fixture(autouse=True)
def fast_passwords(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def loop(street, places):
    """The case taxonomy and the handlers: a leader on every grid of the street, secretaries."""
    from gridgov.cases.taxonomy import seed_taxonomy

    seed_taxonomy()
    people = {}
    for code in ("c1g1", "c1g2", "c2g1", "c2g2"):
        people[code] = make_user(f"gl_{code}", Role.GRID_LEADER, [street[code]], duty=Duty.LEADER)
    for code in ("c1", "c2"):
        people[code] = make_user(f"sec_{code}", Role.COMMUNITY_SECRETARY, [street[code]], duty=Duty.SECRETARY)
    principal = make_user("principal", Role.LEADER)
    GridAssignment.objects.create(user=principal, node=street["street"], duty=Duty.SECRETARY)
    return people


def write_csv(path, rows):
    import csv

    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["工单编号", "受理时间", "反映内容", "问题分类", "事发地址", "纬度", "经度", "是否联系", "是否解决", "评价"])
        w.writerows(rows)
    return str(path)


def rows(street):
    lon, lat = point_in(street["c2g1m2"])
    return [
        # category names a case item (暴露垃圾); placed by its address (阳光星苑, c1g1m1)
        ["H1", "2024-03-05 09:30", "单元门口堆了好几天没人管", "城市管理/市容环境/暴露垃圾", "阳光星苑3号楼", "", "", "是", "是", "满意"],
        # no category: the item comes from recognition of the text; placed by coordinates (c2g1m2)
        ["H2", "2024-03-06 14:00", "小区门口的路灯坏了，晚上一片漆黑", "", "", f"{lat}", f"{lon}", "否", "否", ""],
    ]


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("hotline", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_import_opens_one_routed_case_per_new_ticket_and_reimport_none(loop, street, tmp_path):
    path = write_csv(tmp_path / "t.csv", rows(street))
    out = run("import", path)
    assert "2 created" in out and "2 cases opened" in out
    assert Case.objects.count() == 2
    h1 = Ticket.objects.select_related("case").get(ticket_id="H1")
    h2 = Ticket.objects.select_related("case").get(ticket_id="H2")
    for t in (h1, h2):
        assert t.case.channel == Channel.HOTLINE and t.case.text == t.content
        assert t.case.idempotency_key == services.case_key(t.ticket_id)
    # the category named the item; the address match gave the grid (no coordinates): routed
    assert h1.case.item.code == "CC01" and h1.case.grid_id == h1.grid_id == street["c1g1m1"].pk
    assert h1.case.routing_reason["grid"]["method"] == "given"
    assert h1.case.address == "阳光星苑3号楼"
    assert h1.case.state == State.DISPATCHED and h1.case.handler_user == loop["c1g1"]
    # recognition found the item; the coordinates placed it
    assert h2.case.item.code == "PS01" and h2.case.grid_id == street["c2g1m2"].pk
    assert h2.case.state == State.DISPATCHED and h2.case.handler_user == loop["c2g1"]

    out = run("import", path)  # the same file again: tickets updated, no second case
    assert "0 created, 2 updated" in out
    assert Case.objects.count() == 2
    assert Ticket.objects.get(ticket_id="H1").case_id == h1.case_id
    # a lost link is healed by the key, not duplicated
    assert services.open_case(Ticket.objects.get(ticket_id="H2")).pk == h2.case_id
    assert Case.objects.count() == 2


def test_ticket_shows_the_state_of_its_case(loop, street, client, tmp_path):
    run("import", write_csv(tmp_path / "t.csv", rows(street)))
    staff = make_user("office", Role.LEADER)
    client.force_login(staff)
    by_id = {t["ticket_id"]: t for t in client.get("/api/hotline/tickets").json()["tickets"]}
    assert by_id["H2"]["case_state"] == "dispatched" and by_id["H2"]["case_number"]

    case = Ticket.objects.get(ticket_id="H2").case
    gl = loop["c2g1"]
    cases.accept(case, gl)
    cases.arrive(Case.objects.get(pk=case.pk), gl)
    cases.resolve(Case.objects.get(pk=case.pk), gl, note="已更换灯泡", photos=[_png()])  # on site: with a photo
    by_id = {t["ticket_id"]: t for t in client.get("/api/hotline/tickets").json()["tickets"]}
    assert by_id["H2"]["case_state"] == "resolved"
    assert Ticket.objects.get(ticket_id="H2").case_state == "resolved"
    # the rates still come from the city's columns: H2 stays not solved in the drill-down
    cell = client.get("/api/hotline/rates/cell", {"month": "2024-03", "measure": "unsolved"}).json()
    assert [(t["ticket_id"], t["solved"], t["case_state"]) for t in cell["tickets"]] == [("H2", False, "resolved")]
    case.refresh_from_db()
    page = client.get("/hotline/report/2024-03/").content.decode()  # the costly tickets show their case
    assert f"{case.number} {case.get_state_display()}" in page


def test_api_tickets_open_cases_entered_by_the_user(loop, street, client):
    staff = make_user("office", Role.LEADER)
    client.force_login(staff)
    lon, lat = point_in(street["c1g1m1"])
    body = [{"ticket_id": "A1", "received_at": "2024-03-05 09:30", "content": "楼道里堆满杂物", "lat": lat, "lon": lon}]
    r = client.post("/api/hotline/tickets", body, content_type="application/json")
    assert r.status_code == 200 and r.json()["cases"] == 1
    case = Ticket.objects.get(ticket_id="A1").case
    assert case.entered_by == staff and case.reporter is None and case.item.code == "WG01"
    r = client.post("/api/hotline/tickets", body, content_type="application/json")
    assert r.json()["created"] == 0 and r.json()["cases"] == 0 and Case.objects.count() == 1


def test_big_import_opens_cases_in_the_worker_after_commit(loop, street, tmp_path, monkeypatch,
                                                           django_capture_on_commit_callbacks):
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr(services, "SYNC_CASES_MAX", 1)
    monkeypatch.setattr(HUEY, "immediate", True)
    path = write_csv(tmp_path / "t.csv", rows(street))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        out = run("import", path)
    assert "cases of 2 new tickets opened by the worker" in out
    assert Case.objects.count() == 0 and len(callbacks) == 1
    callbacks[0]()  # the commit hook: queues the task (run at once here)
    assert Case.objects.count() == 2
    assert set(Ticket.objects.values_list("case__state", flat=True)) == {State.DISPATCHED}
    assert services.open_cases(["H1", "H2"]) == 0  # idempotent: a retried task does nothing


def test_item_for_category(loop):
    items = list(Item.objects.filter(active=True))
    assert services.item_for_category("城市管理", "市容环境", "暴露垃圾", items).code == "CC01"
    assert services.item_for_category("城乡建设", "噪音扰民问题", "", items).code == "WG03"
    assert services.item_for_category("交通运输", "", "", items) is None
    assert services.item_for_category("", "", "", items) is None


def test_cases_wait_for_the_worker_only_when_it_will_classify(loop, street, tmp_path, settings, monkeypatch,
                                                              django_capture_on_commit_callbacks):
    """More unclassified tickets than SYNC_CLASSIFY_MAX: with a model, classification goes to the
    worker and the cases follow it there (the item can follow the category); without one there
    is nothing to wait for and the cases open in the import."""
    from gridgov.hotline import classifier, tasks

    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(services, "SYNC_CLASSIFY_MAX", 0)
    queued = []
    monkeypatch.setattr(tasks, "classify_pending_task", lambda: queued.append("classify"))
    monkeypatch.setattr(tasks, "open_cases_task", lambda ids, user_id, classify_first: queued.append((ids, classify_first)))
    with django_capture_on_commit_callbacks(execute=True):
        out = run("import", write_csv(tmp_path / "t.csv", rows(street)))
    assert "2 cases opened" in out and Case.objects.count() == 2 and queued == ["classify"]

    model = classifier.default_model_path()
    model.parent.mkdir(parents=True)
    model.write_bytes(b"stub")
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        out = run("import", write_csv(tmp_path / "t2.csv", [["H3"] + rows(street)[1][1:]]))
    assert "cases of 1 new tickets opened by the worker" in out and queued == [(["H3"], True)]
    assert Case.objects.count() == 2
