"""The core of deliberation: the process as data (a three-phase process runs as well as the
six-phase one), the guards between phases, who may move a topic, and who sees it."""

import pytest

from gridgov.deliberation import services
from gridgov.deliberation.models import Decision, Phase, Process, Result, Topic

from .world import topic


def three_phases():
    p = Process.objects.create(name="短流程")
    Phase.objects.create(process=p, position=1, name="提议", proposals_open=True, support_open=True, discussion_open=True)
    Phase.objects.create(process=p, position=2, name="商议", meeting=True)
    Phase.objects.create(process=p, position=3, name="落实公开", execution=True, published=True)
    return p


def test_the_seeded_processes(db):
    six = Process.objects.get(is_default=True, node__isnull=True)
    assert [p.name for p in six.phases.all()] == ["居民提", "楼长集", "平台议", "多方商", "专人办", "结果亮"]
    assert Process.objects.filter(name="三步议事").exists()


def _decide(t, user):
    return Decision.objects.create(topic=t, summary="决定", decided_at=t.phase_started_at, decided_by=user)


@pytest.mark.parametrize("process", ["six", "three"])
def test_a_topic_walks_its_process_with_the_guards(w, process):
    proc = Process.objects.get(is_default=True) if process == "six" else three_phases()
    t = topic(w, process=proc)
    staff = w["staff_c1"]
    assert t.phase.position == 1 and t.state == Topic.State.OPEN
    seen = [t.phase.name]
    while t.state == Topic.State.OPEN:
        phase = t.phase
        if phase.meeting:
            with pytest.raises(services.Conflict):
                services.advance(staff, t)
            _decide(t, staff)
        if phase.execution:
            with pytest.raises(services.Conflict):
                services.advance(staff, t)
            Decision.objects.filter(topic=t).update(done_at=t.phase_started_at)
        if phase.published:
            with pytest.raises(services.Conflict):
                services.advance(staff, t)
            Result.objects.create(topic=t, summary="已完成", published_at=t.phase_started_at, published_by=staff)
        t = services.advance(staff, t)
        seen.append(t.phase.name if t.state == Topic.State.OPEN else "closed")
    assert seen[-1] == "closed" and len(seen) == proc.phases.count() + 1
    assert t.closed_at is not None


def test_who_may_move_a_topic(w):
    t = topic(w)
    with pytest.raises(services.Forbidden):
        services.advance(w["neighbour"], t)
    with pytest.raises(services.Forbidden):
        services.advance(w["staff_c2"], t)  # another community's staff
    # the steward of its building forwards it one phase while it is collected (楼长集)
    t = services.advance(w["steward"], t)
    assert t.phase.position == 2
    with pytest.raises(services.Forbidden):  # ... never skips phases
        services.advance(w["steward"], t, to=t.process.phases.get(position=4))
    t = services.advance(w["steward"], t)
    assert t.phase.position == 3
    with pytest.raises(services.Forbidden):  # no longer collected: the community's business
        services.advance(w["steward"], t)
    with pytest.raises(services.Conflict):  # a stale version: moved once
        services.advance(w["staff_c1"], t, expected_version=t.version - 1)


def test_entering_a_phase_with_days_sets_its_end(w):
    t = topic(w)
    six = t.process
    t = services.advance(w["staff_c1"], t, to=six.phases.get(position=3))
    assert t.phase_ends_at is not None and (t.phase_ends_at - t.phase_started_at).days == 14
    assert services.phase_open(t, "discussion_open") and not services.phase_open(t, "proposals_open")


def test_who_sees_a_topic(w):
    building_topic = topic(w)
    community_topic = topic(w, compound=None, building=None, node=w["street"]["c1"], title="社区停车难")
    other = topic(w, "c2", title="别处的议题")
    ids = lambda u: set(Topic.objects.visible_to(u).values_list("id", flat=True))  # noqa: E731
    assert ids(w["user_c1"]) == {building_topic.pk, community_topic.pk}  # their compound and community
    assert ids(w["neighbour"]) == {building_topic.pk, community_topic.pk}
    assert ids(w["user_c2"]) == {other.pk}
    assert ids(w["stranger"]) == set()  # not in the registry: only what they propose
    assert building_topic.pk in ids(w["steward"])
    assert ids(w["staff_c1"]) == {building_topic.pk, community_topic.pk}
    assert ids(w["leader"]) == {building_topic.pk, community_topic.pk, other.pk}
    mine = topic(w, "c2", title="陌生人提的", proposer=w["stranger"])
    assert ids(w["stranger"]) == {mine.pk}
