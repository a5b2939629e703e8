"""The case loop's dead ends (issue 17, items 1, 5 and 6), each through the doors people use:
services, the JSON API, the staff pages and the phone pages.

1. escalation never stops at the end of a path: the community, then the duty leader of the top
   of the grid path; leaders see every stuck case; no internal English reaches a page, a
   timeline or a notification (service errors are codes with translated messages);
5. a resolution says what was done (and shows it on site); the case page is readable; one
   definition of overdue for every door; a map card tells the case's deadline from summonses';
6. a building steward (楼门长) sees and takes volunteer tasks."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.cases import services
from gridgov.cases.models import Case, CaseEvent, Clock, ClockState, Notification, State, Summons
from gridgov.testing import make_user

from .conftest import P_C1G1, P_C2G2, PNG
from .test_demo_cases import demo_cases  # noqa: F401 (the small demo)

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
HX = {"HTTP_HX_REQUEST": "true"}
#: a word of internal English (the case numbers are digits)
ENGLISH = re.compile(r"[A-Za-z]{3,}")


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


def photo():
    return SimpleUploadedFile("done.png", PNG, content_type="image/png")


def litter(report, point=P_C1G1):
    """A minor item (暴露垃圾): the path grid_only (小事不出网格), one step."""
    case = report(text="楼下有暴露垃圾没人清", item="CC01", point=point)
    assert case.path.code == "grid_only"
    return case


def breach_arrive(case):
    """Run the sweep just past the case's running arrive limit."""
    due = Clock.objects.filter(case=case, kind="arrive", state__in=[ClockState.RUNNING, ClockState.WARNED]).latest("id").due_at
    services.sweep(due + timedelta(seconds=5))
    case.refresh_from_db()
    return case


def no_english(texts):
    return [t for t in texts if ENGLISH.search(t or "")]


# --- 1. a path always ends at someone ---------------------------------------------------------


def test_escalation_past_the_end_of_a_path_goes_to_the_community_then_the_top(people, report):
    p = people
    case = litter(report)
    assert case.handler_user == p["gl"]
    # nobody on site in time: grid_only has no next step; the community takes it
    case = breach_arrive(case)
    assert (case.state, case.handler_level, case.handler_user) == (State.ESCALATED, "community_secretary", p["sec"])
    assert case.routing_reason["current"]["path"]["fallback"] is True
    assert case.path_step == len(case.path.steps)
    # the community late too: the duty leader of the top of the grid path (the street's)
    case = breach_arrive(case)
    assert (case.handler_level, case.handler_user) == ("principal_leader", p["principal"])
    # at the top: the breach is kept, the duty leaders are told — in Chinese
    case = breach_arrive(case)
    assert case.handler_user == p["principal"]
    stuck = CaseEvent.objects.filter(case=case, action="breach", data__stuck=True).get()
    assert "已到最高一级" in stuck.note
    told = Notification.objects.filter(case=case, recipient=p["principal"], kind="breach")
    assert told.exists()
    notes = list(CaseEvent.objects.filter(case=case).values_list("note", flat=True))
    messages = [t for n in Notification.objects.filter(case=case) for t in (n.title, n.body)]
    assert no_english(notes) == [] and no_english(messages) == []
    # 升级 by hand at the top: a code and a message, Chinese from the API, translated on pages
    r = client_for(p["principal"]).post(f"/api/cases/{case.pk}/actions/escalate", {"note": "再升级"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "top" and "已到最高一级" in r.json()["detail"]
    page = client_for(p["principal"]).post(f"/cases/{case.pk}/act/escalate/", {"note": "再升级"}, **HX, **EN).content.decode()
    assert "already at the top" in page and "已到最高一级" not in page


def test_a_new_case_nobody_on_its_path_fills_goes_to_the_community_else_the_top(people, report):
    p = people
    # c2g2 has no grid leader: grid_only is empty at once — its community's secretary takes it
    case = litter(report, point=P_C2G2)
    assert (case.state, case.handler_user) == (State.DISPATCHED, p["sec2"])
    assert "waiting" not in case.routing_reason
    # nobody left in the community either: the duty leader of the top
    p["sec2"].is_active = False
    p["sec2"].save()
    case = litter(report, point=P_C2G2)
    assert (case.state, case.handler_level, case.handler_user) == (State.DISPATCHED, "principal_leader", p["principal"])


def test_leaders_see_every_stuck_case_on_the_workbench(people, report):
    p = people
    case = report()
    services.return_case(case, p["gl"], "不是本网格的问题")  # handed back: nobody holds it
    assert list(Case.objects.stuck()) == [case]
    page = client_for(p["principal"]).get("/?state=stuck").content.decode()
    assert f'href="/cases/{case.pk}/"' in page and "无人经办 <b>1</b>" in page
    # the community was told to re-dispatch it
    assert Notification.objects.filter(case=case, recipient=p["sec"], kind="returned").exists()


def test_service_errors_are_codes_with_a_translated_message(people, report):
    p = people
    case = report()
    services.accept(case, p["gl"])
    with pytest.raises(services.Conflict) as exc:
        services.accept(Case.objects.get(pk=case.pk), p["gl"])
    assert exc.value.code == "bad_state" and str(exc.value) == f"事件 {case.number} 当前为“已受理”，不能办理此操作"
    # the API: the status as before, {"detail", "code"}
    r = client_for(p["gl"]).post(f"/api/cases/{case.pk}/actions/accept", {}, content_type="application/json")
    assert r.status_code == 409 and r.json() == {"detail": f"事件 {case.number} 当前为“已受理”，不能办理此操作", "code": "bad_state"}
    r = client_for(p["gl2"]).post(f"/api/cases/{case.pk}/actions/reject", {"note": "x"}, content_type="application/json")
    assert r.status_code == 404  # (not the grid leader's work)
    r = client_for(p["gl"]).post(f"/api/cases/{case.pk}/actions/verify", {}, content_type="application/json")
    assert r.status_code == 403 and r.json()["code"] == "not_allowed" and not ENGLISH.search(r.json()["detail"])
    r = client_for(p["gl"]).post(f"/api/cases/{case.pk}/actions/return", {"note": ""}, content_type="application/json")
    assert r.status_code == 400 and r.json() == {"detail": "请填写退回原因", "code": "note_required"}
    # pages: in the reader's language
    page = client_for(p["gl"]).post(f"/cases/{case.pk}/act/accept/", **HX, **EN).content.decode()
    assert "Case %s is “Accepted”: this action is not possible now" % case.number in page
    # a plain message still works (other modules raise these too)
    plain = services.InvalidInput("text: describe the problem")
    assert (str(plain), plain.code, plain.source_message()) == ("text: describe the problem", "invalid", "text: describe the problem")


# --- 5. a resolution says what was done; readable pages; one overdue --------------------------


def test_resolving_needs_a_description_and_on_site_a_photo(people, report):
    p = people
    case = report(item="PS01")
    services.accept(case, p["gl"])
    with pytest.raises(services.InvalidInput) as exc:
        services.resolve(case, p["gl"])
    assert exc.value.code == "resolution_note"
    gl = client_for(p["gl"])
    r = gl.post(f"/api/cases/{case.pk}/actions/resolve", {"note": "好"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "resolution_note"
    services.arrive(case, p["gl"])
    # on site: a photo of the result too, whatever the door
    r = gl.post(f"/api/cases/{case.pk}/actions/resolve", {"note": "已更换灯泡"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "resolution_photo"
    r = gl.post(f"/api/cases/{case.pk}/resolve", {"note": "已更换灯泡"})
    assert r.status_code == 400 and r.json()["code"] == "resolution_photo"
    page = gl.get(f"/cases/{case.pk}/").content.decode()
    assert 'name="note" required' in page and 'name="photos"' in page
    r = gl.post(f"/api/cases/{case.pk}/resolve", {"note": "已更换灯泡", "photos": [photo()]})
    assert r.status_code == 200 and r.json()["state"] == "resolved"
    ev = CaseEvent.objects.get(case=case, action="resolve")
    assert ev.note == "已更换灯泡" and case.photos.filter(stage="resolve").count() == 1


def test_volunteer_resolves_a_task_on_the_phone_with_what_was_done(people, report):
    p = people
    case = litter(report)
    services.grab(case, p["vol"])
    services.arrive(case, p["vol"])
    vol = client_for(p["vol"])
    r = vol.post(f"/m/tasks/{case.pk}/resolve/", {"note": ""})
    assert r.status_code == 400 and "请填写处置说明" in r.content.decode()
    r = vol.post(f"/m/tasks/{case.pk}/resolve/", {"note": "垃圾已清运"})
    assert r.status_code == 400 and "须上传处置后的照片" in r.content.decode()
    r = vol.post(f"/m/tasks/{case.pk}/resolve/", {"note": "垃圾已清运", "photos": [photo()]})
    assert r.status_code == 302 and Case.objects.get(pk=case.pk).state == State.RESOLVED


def test_case_page_shows_labels_and_the_routing_reason_as_sentences_in_local_time(people, report):
    p = people
    case = report(item="PS01")
    services.accept(case, p["gl"])
    page = client_for(p["sec"]).get(f"/cases/{case.pk}/").content.decode()
    assert "已上报 → 已派遣" in page and "已派遣 → 已受理" in page
    for raw in ("dispatched", "submitted", ">reporter<", " reporter", "{'", "'handler'"):
        assert raw not in page, raw
    at = timezone.localtime(case.created_at).strftime("%Y-%m-%d %H:%M")
    assert f"<time>{at}</time>" in page and "上报人选择" in page and "（上报人 · " not in page
    assert "按路径“网格→社区”第 1/2 步，交网格长 gl" in page
    page = client_for(p["sec"]).get(f"/cases/{case.pk}/", **EN).content.decode()
    assert "Submitted → Dispatched" in page and "chosen by the reporter" in page
    # the phone page: the state's label
    assert "已受理" in client_for(p["resident"]).get(f"/m/cases/{case.pk}/").content.decode()


def _late(case, kind, minutes_ago, state=ClockState.RUNNING):
    c = Clock.objects.filter(case=case, kind=kind, summons__isnull=True).latest("id")
    Clock.objects.filter(pk=c.pk).update(due_at=timezone.now() - timedelta(minutes=minutes_ago), state=state,
                                         warn_at=timezone.now() - timedelta(minutes=minutes_ago + 5))


def test_one_definition_of_overdue_and_every_door_agrees(people, report):
    p = people
    late = report()  # its resolve limit is past due: overdue
    _late(late, "resolve", 30)
    escalated = report()  # its grid leader's acceptance breached, then escalated: new limits, in time
    _late(escalated, "accept", 60, ClockState.BREACHED)
    services.escalate(escalated, p["sec"], "网格处理不了")
    summoned = report()  # a department late to report back: the summons', not the case's
    services.accept(summoned, p["gl"])
    s = services.summon(summoned, p["sec"], ["城市管理办公室"], "协同")[0]
    Clock.objects.filter(summons=s).update(due_at=timezone.now() - timedelta(minutes=5))
    done = report()  # resolved: no longer open, whatever its old breach
    services.accept(done, p["gl"])
    _late(done, "accept", 60, ClockState.BREACHED)
    services.resolve(done, p["gl"], "已更换灯泡")
    leader = p["principal"]
    c = client_for(leader)
    workbench = c.get("/").content.decode()
    assert "1 件已超时" in workbench
    dash = c.get("/api/insight/stats").json()
    assert dash["overdue"]["count"] == 1 and [r["id"] for r in dash["overdue"]["rows"]] == [late.pk]
    assert [x["id"] for x in c.get("/api/cases/?late=true").json()] == [late.pk]
    layer = c.get("/api/insight/layers/cases").json()["features"]
    assert {f["properties"]["id"] for f in layer if f["properties"]["clock"] in ("overdue", "breached")} == {late.pk}
    assert "已超时 <b>1</b>" in workbench
    assert list(Case.objects.visible_to(leader).overdue()) == list(services.late_cases(leader)) == [late]


def test_map_card_shows_the_cases_own_deadline_and_summons_deadlines_as_such(people, report):
    p = people
    case = report()
    services.accept(case, p["gl"])
    services.arrive(case, p["gl"])
    s = services.summon(case, p["sec"], ["城市管理办公室"], "协同", hours=0.5)[0]
    own = Clock.objects.get(case=case, kind="resolve", state=ClockState.RUNNING)
    Summons.objects.filter(pk=s.pk).update(due_at=own.due_at - timedelta(hours=3))
    Clock.objects.filter(summons=s).update(due_at=own.due_at - timedelta(hours=3))
    card = client_for(p["sec"]).get(f"/api/insight/card/case/{case.pk}").json()
    local = lambda t: timezone.localtime(t).strftime("%Y-%m-%d %H:%M")  # noqa: E731
    assert card["due_at"] == local(own.due_at)
    assert card["summons"] == [{"department": "城市管理办公室", "due_at": local(own.due_at - timedelta(hours=3)), "reported": False}]


# --- 6. stewards take volunteer tasks ---------------------------------------------------------


def test_a_steward_sees_and_grabs_volunteer_tasks(people, report):
    steward = make_user("louzhang", Role.STEWARD)
    case = litter(report)
    assert case.grabbable
    assert list(Case.objects.visible_to(steward)) == [case]
    c = client_for(steward)
    page = c.get("/m/tasks/")
    assert page.status_code == 200 and f"/m/tasks/{case.pk}/grab/" in page.content.decode()
    assert 'href="/m/tasks/"' in c.get("/m/cases/").content.decode()
    r = c.post(f"/api/cases/{case.pk}/grab")
    assert r.status_code == 200, r.content
    case.refresh_from_db()
    assert (case.state, case.grabbed_by) == (State.ACCEPTED, steward)
    # a resident still may not
    other = litter(report)
    r = client_for(people["neighbour"]).post(f"/api/cases/{other.pk}/grab")
    assert r.status_code == 404


# --- the demo follows the same rule -------------------------------------------------------------


def test_the_demo_leaves_no_case_without_a_handler_and_writes_no_english(demo_cases):
    """(The small demo of test_demo_cases: c2g2 has no grid leader, so its minor cases find
    nobody on grid_only at once, and escalations run past the ends of paths.)"""
    assert no_english(CaseEvent.objects.exclude(note="").values_list("note", flat=True).distinct()) == []
    waiting = [c.routing_reason.get("waiting", "") for c in Case.objects.exclude(routing_reason__waiting=None)]
    assert no_english(waiting) == []
    fell_back = Case.objects.filter(routing_reason__current__path__fallback=True)
    assert fell_back.exists()
    # every open case that was ever routed has someone (or a department) holding it
    routed = Case.objects.filter(state__in=[State.DISPATCHED, State.ESCALATED, State.ACCEPTED, State.ON_SITE, State.REOPENED])
    assert not routed.filter(handler_user__isnull=True, handler_department="").exists()
    assert not Case.objects.stuck().exclude(state__in=[State.SUBMITTED, State.RETURNED]).exists()
