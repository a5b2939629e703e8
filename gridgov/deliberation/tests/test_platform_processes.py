"""Processes as data: who defines them, the rules of their phases, editing a process in use,
defaults; a three-phase process created through the API runs a topic to the end as well as the
six-phase one."""

import json

import pytest
from django.test import Client

from gridgov.deliberation import platform, services
from gridgov.deliberation.models import Decision, Process, Result, Topic

from .world import topic

THREE = [
    {"name": "提议", "proposals_open": True, "support_open": True, "discussion_open": True, "days": 10},
    {"name": "商议", "meeting": True},
    {"name": "落实公开", "execution": True, "published": True},
]


def _api(c, method, url, body=None):
    return getattr(c, method)(url, json.dumps(body or {}), content_type="application/json")


def test_who_defines_processes(w):
    c1 = w["street"]["c1"]
    p = platform.create_process(w["staff_c1"], name="夜话三步", community=c1, phases=THREE)
    assert p.node == c1 and [ph.position for ph in p.phases.all()] == [1, 2, 3]
    assert p.phases.get(position=1).days == 10 and p.phases.get(position=3).published
    with pytest.raises(services.Forbidden):  # street-wide: administrators (settings × update)
        platform.create_process(w["staff_c1"], name="全街道", phases=THREE)
    with pytest.raises(services.Forbidden):
        platform.create_process(w["staff_c2"], name="别人的", community=c1, phases=THREE)
    with pytest.raises(services.Forbidden):
        platform.create_process(w["worker_c1"], name="网格员", community=c1, phases=THREE)
    assert platform.create_process(w["admin"], name="全街道", phases=THREE).node is None
    with pytest.raises(services.Conflict):
        platform.create_process(w["staff_c1"], name="夜话三步", community=c1, phases=THREE)


@pytest.mark.parametrize("phases, code", [
    ([], "phases"),
    ([{"name": ""}], "phase_name"),
    ([{"name": "甲"}, {"name": "甲"}], "phase_name"),
    ([{"name": "甲", "days": 0}], "phase_days"),
    ([{"name": "办", "execution": True}, {"name": "商", "meeting": True}], "phase_order"),
    ([{"name": "商", "meeting": True}, {"name": "亮", "published": True}, {"name": "办", "execution": True}], "phase_order"),
    ([{"name": f"阶段{i}"} for i in range(21)], "phases"),
])
def test_phase_rules(w, phases, code):
    with pytest.raises(services.DeliberationError) as exc:
        platform.create_process(w["staff_c1"], name="坏流程", community=w["street"]["c1"], phases=phases)
    assert exc.value.code == code


def test_any_flags_are_allowed_otherwise(w):
    p = platform.create_process(w["staff_c1"], name="只征集", community=w["street"]["c1"], phases=[{"name": "征集"}])
    t = topic(w, process=p)
    t = services.advance(w["staff_c1"], t)  # no meeting phase: no decision needed
    assert t.state == Topic.State.CLOSED


def test_editing_a_process_in_use(w):
    staff, c1 = w["staff_c1"], w["street"]["c1"]
    p = platform.create_process(staff, name="四步", community=c1, phases=[
        {"name": "提"}, {"name": "议", "discussion_open": True}, {"name": "商", "meeting": True}, {"name": "办"}])
    ids = [ph.pk for ph in p.phases.all()]
    t = services.advance(staff, topic(w, process=p))  # an open topic in phase 2
    rows = lambda *order: [{"id": i, "name": n} for i, n in order]  # noqa: E731
    with pytest.raises(services.Conflict):  # phase 1, passed: not removed
        platform.update_process(staff, p, phases=rows((ids[1], "议"), (ids[2], "商"), (ids[3], "办")))
    with pytest.raises(services.Conflict):  # nor reordered
        platform.update_process(staff, p, phases=rows((ids[1], "议"), (ids[0], "提"), (ids[2], "商"), (ids[3], "办")))
    # renamed, flags edited, later phases reordered, removed, added: fine
    p = platform.update_process(staff, p, name="四步改", phases=[
        {"id": ids[0], "name": "居民提"}, {"id": ids[1], "name": "议", "discussion_open": True, "days": 7},
        {"name": "新商", "meeting": True}, {"id": ids[2], "name": "商二", "meeting": True}])
    assert p.name == "四步改"
    assert [(ph.position, ph.name) for ph in p.phases.all()] == [(1, "居民提"), (2, "议"), (3, "新商"), (4, "商二")]
    t.refresh_from_db()
    assert t.phase_id == ids[1] and t.phase.days == 7
    # a closed topic's phase cannot be removed (it still sits there)
    t = services.advance(staff, t, to=p.phases.get(position=4))
    Decision.objects.create(topic=t, summary="决定", decided_at=t.phase_started_at)
    t = services.advance(staff, t)
    assert t.state == Topic.State.CLOSED
    with pytest.raises(services.Conflict):
        platform.update_process(staff, p, phases=[{"id": ids[0], "name": "居民提"}])
    with pytest.raises(services.Forbidden):
        platform.update_process(w["staff_c2"], p, name="x")
    with pytest.raises(services.Forbidden):  # the street's: administrators
        platform.update_process(staff, Process.objects.get(name="六步议事"), name="x")


def test_defaults(w):
    staff, c1 = w["staff_c1"], w["street"]["c1"]
    six = Process.objects.get(name="六步议事")
    a = platform.create_process(staff, name="甲", community=c1, phases=THREE)
    b = platform.create_process(staff, name="乙", community=c1, phases=THREE)
    assert services.default_process(c1) == six
    platform.set_default(staff, a, c1)
    assert services.default_process(c1) == a
    platform.set_default(staff, b)
    a.refresh_from_db()
    assert services.default_process(c1) == b and not a.is_default
    assert services.default_process(w["street"]["c2"]) == six
    with pytest.raises(services.DeliberationError):  # a community's default is its own
        platform.set_default(staff, six, c1)
    with pytest.raises(services.Forbidden):
        platform.set_default(staff, six)
    with pytest.raises(services.Conflict):  # the street's default cannot be stopped
        platform.deactivate(w["admin"], six)
    platform.deactivate(staff, b)
    assert services.default_process(c1) == six
    with pytest.raises(services.Conflict):
        platform.set_default(staff, b)
    three = Process.objects.get(name="三步议事")
    platform.set_default(w["admin"], three)
    six.refresh_from_db()
    assert not six.is_default and services.default_process(w["street"]["c2"]) == three


def test_a_three_phase_process_from_the_api_runs_to_the_end(w):
    c = Client()
    c.force_login(w["staff_c1"])
    r = _api(c, "post", "/api/deliberation/platform/processes", {"name": "广场夜话", "community": w["street"]["c1"].code,
                                                                 "phases": THREE})
    assert r.status_code == 201, r.content
    pid = r.json()["id"]
    assert [p["name"] for p in r.json()["phases"]] == ["提议", "商议", "落实公开"]
    assert _api(c, "post", f"/api/deliberation/platform/processes/{pid}/default").json()["is_default"]
    r = _api(c, "post", "/api/deliberation/platform/topics", {"title": "广场灯光太暗", "node": w["street"]["c1g1m1"].code,
                                                              "channel": "letterbox", "person_name": "李大爷"})
    assert r.status_code == 201, r.content
    tid = r.json()["id"]
    assert r.json()["process"]["id"] == pid and r.json()["phase"]["position"] == 1
    t = Topic.objects.get(pk=tid)
    seen = []
    while t.state == Topic.State.OPEN:
        phase = t.phase
        if phase.meeting:
            assert _api(c, "post", f"/api/deliberation/platform/topics/{tid}/advance").status_code == 409
            Decision.objects.create(topic=t, summary="加装路灯", decided_at=t.phase_started_at, decided_by=w["staff_c1"])
        if phase.execution:
            assert _api(c, "post", f"/api/deliberation/platform/topics/{tid}/advance").status_code == 409
            Decision.objects.filter(topic=t).update(done_at=t.phase_started_at)
        if phase.published:
            assert _api(c, "post", f"/api/deliberation/platform/topics/{tid}/advance").status_code == 409
            Result.objects.create(topic=t, summary="已加装", published_at=t.phase_started_at)
        r = _api(c, "post", f"/api/deliberation/platform/topics/{tid}/advance", {"version": t.version})
        assert r.status_code == 200, r.content
        seen.append(r.json()["state"] if r.json()["state"] != "open" else r.json()["phase"]["name"])
        t = Topic.objects.get(pk=tid)
    assert seen == ["商议", "落实公开", "closed"]
    # an open topic sits in phase 1: it cannot go; renaming it can
    assert _api(c, "post", "/api/deliberation/platform/topics", {"title": "又一个", "node": w["street"]["c1"].code}).status_code == 201
    phases = [{"id": p.pk, "name": p.name, **p.flags()} for p in t.process.phases.all()]
    r = _api(c, "put", f"/api/deliberation/platform/processes/{pid}", {"phases": phases[1:]})
    assert r.status_code == 409 and r.json()["code"] == "phase_in_use"
    phases[0]["name"] = "提议附议"
    r = _api(c, "put", f"/api/deliberation/platform/processes/{pid}", {"name": "夜话", "phases": phases})
    assert r.status_code == 200 and r.json()["phases"][0]["name"] == "提议附议" and r.json()["name"] == "夜话"
    r = _api(c, "put", f"/api/deliberation/platform/processes/{pid}", {"phases": [{"name": "办", "execution": True}]})
    assert r.status_code == 400 and r.json()["code"] == "phase_order"
    listed = c.get("/api/deliberation/platform/processes").json()
    assert {"六步议事", "三步议事", "夜话"} <= {p["name"] for p in listed}
