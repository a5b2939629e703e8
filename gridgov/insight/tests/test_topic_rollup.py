"""The topic rollups against the tickets and cases: on random tickets and cases in two streets of
a district (paraphrases of a few complaints, so that topics form, in and across grids and
months; some placed in no grid), the topics, hot spots and recurring problems merged from the
kept parts equal those computed from the raw rows, for the district's leader and a street's
leader, per month and per street; after changes (a new report, a ticket moved, a rejection) a
read or the worker folds them in; a big stale part is shown as computed until the worker has
recomputed it; users who see less than whole streets are computed live."""

import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gridgov.accounts.models import Duty, Role
from gridgov.cases.models import Case, Item, State
from gridgov.cases.taxonomy import seed_taxonomy
from gridgov.hotline.models import Ticket
from gridgov.hotline.tests.util import ticket
from gridgov.insight import rollup, stats
from gridgov.insight.models import TopicRollup
from gridgov.insight.stats import Filters
from gridgov.testing import make_district, make_user

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")
MONTHS = ["2025-01", "2025-02", "2025-03", "2025-04"]
#: (category, item code or None, paraphrases): a ticket takes the category, a case the item
COMPLAINTS = [
    (("城乡建设", "房屋修缮", ""), None, ["3号楼顶层漏雨严重，屋顶防水层损坏，请尽快维修",
                                     "3号楼楼顶漏雨，家里墙面发霉，屋顶防水层损坏", "顶层漏雨严重，防水层坏了，希望维修屋顶"]),
    (("城乡建设", "噪音扰民问题", ""), "WG03", ["广场舞噪音扰民，晚上十点还在跳", "楼下广场舞太吵，音响声音很大", "广场舞音响扰民，影响休息"]),
    (("市容环境", "占道经营", ""), None, ["早市占道经营，噪音很大，影响出行", "早市商贩占道经营，早上五点就开始吆喝", "商贩占道摆摊，堵塞道路"]),
    (("公共服务", "路灯", ""), None, ["路灯不亮，晚上出行不便", "小区门口路灯坏了很久", "路灯损坏，夜里一片漆黑"]),
]


@pytest.fixture
def world():
    seed_taxonomy()
    n = make_district()
    rnd = random.Random(1515)
    leaves = [n["c1g1m1"], n["c1g2m1"], n["c1g2"], n["c2g1"], n["s2c1g1"]]
    items = {c: Item.objects.get(code=c) for c in ("WG03",)}
    others = list(Item.objects.order_by("code")[:3])
    from gridgov.registry.models import Compound

    Compound.objects.create(name="阳光星苑", community=n["c1"], grid=n["c1g1m1"])
    cases = []
    for i in range(160):
        cat, code, texts = rnd.choice(COMPLAINTS)
        month = rnd.choice(MONTHS)
        grid = rnd.choice(leaves + [None])
        if rnd.random() < 0.55:
            ticket(f"T{i:04d}", month, grid, content=rnd.choice(texts), category=cat, day=rnd.randint(1, 28))
        else:
            y, m = map(int, month.split("-"))
            at = datetime(y, m, rnd.randint(1, 28), rnd.randint(0, 23), tzinfo=TZ)
            item = items.get(code) or rnd.choice(others + [None])
            cases.append(Case(number=f"K{i:04d}", channel=rnd.choice(["resident", "patrol", "volunteer"]), text=rnd.choice(texts),
                              address="阳光星苑3号楼" if grid == n["c1g1m1"] and rnd.random() < 0.5 else "",
                              item=item, grid=grid, grid_path=grid.path if grid else "",
                              state=rnd.choice([State.SUBMITTED, State.CLOSED, State.DISPATCHED]), created_at=at, updated_at=at))
    Case.objects.bulk_create(cases)
    return {
        **n,
        "leader": make_user("leader", Role.LEADER, [n["district"]], Duty.SECRETARY),
        "s1": make_user("s1_leader", Role.LEADER, [n["street"]], Duty.SECRETARY),
        "s2_leader": make_user("s2_leader", Role.LEADER, [n["s2"]], Duty.SECRETARY),
        "secretary": make_user("sec", Role.COMMUNITY_SECRETARY, [n["c1"]], Duty.SECRETARY),
    }


def _same(user, f=None, limit=5, examples=2):
    f = f or Filters()
    month = f.month or stats.topics_month(user)
    kept = rollup.topics(user, f, month, limit=limit, examples=examples)
    assert kept is not None, "the rollups should answer"
    live = stats.live_topics(user, f, month, limit=limit, examples=examples)
    for key in ("month", "tickets", "cases", "topics", "hot_spots", "recurring"):
        if kept[key] != live[key] and isinstance(kept[key], list):
            for a, b in zip(kept[key], live[key]):
                print(key, {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)})
        assert kept[key] == live[key], key
    return kept


@pytest.mark.parametrize("who", ["leader", "s1", "s2_leader"])
def test_the_kept_topics_equal_the_raw_ones(world, who):
    user = world[who]
    for month in MONTHS:
        data = _same(user, Filters(month=month))
        _same(user, Filters(month=month), limit=20, examples=3)
        if who == "leader" and month == "2025-04":
            assert data["topics"] and data["hot_spots"] and data["recurring"], "the random data should make all three"
    # a case's compound is found under a district too (its community's compounds, by name)
    spots = _same(world["leader"], Filters(month="2025-04"), limit=30)["hot_spots"]
    assert any(s["name"] == "阳光星苑" for s in spots)
    _same(world["leader"], Filters(street=world["s2"].code))
    _same(world["leader"], Filters(street=world["street"].code, month="2025-03"), limit=10, examples=1)


def test_a_leader_sees_only_the_streets_parts(world):
    kept = rollup.topics(world["s2_leader"], Filters(), "2025-04")
    ids = {i for t in kept["topics"] for i in t["ticket_ids"]}
    assert not Ticket.objects.filter(pk__in=ids).exclude(grid__path__startswith=world["s2"].path).exists()
    assert set(TopicRollup.objects.values_list("part", flat=True)) == {world["s2"].path}


def test_changes_are_folded_in(world):
    leader = world["leader"]
    _same(leader, Filters(month="2025-04"))
    # a new report like the month's leak, a ticket moved to the other street, a case rejected
    Case.objects.create(number="NEW1", channel="resident", text="3号楼顶层漏雨严重，屋顶防水层损坏", grid=world["c1g1m1"],
                        grid_path=world["c1g1m1"].path, state="submitted", created_at=datetime(2025, 4, 27, 9, tzinfo=TZ),
                        updated_at=datetime(2025, 4, 27, 9, tzinfo=TZ))
    moved = Ticket.objects.filter(month="2025-02", grid__path__startswith=world["street"].path).first()
    moved.grid = world["s2c1g1"]
    moved.save()
    from gridgov.cases.models import CaseEvent

    rejected = Case.objects.filter(created_at__month=1).exclude(grid=None).first()
    Case.objects.filter(pk=rejected.pk).update(state=State.REJECTED)
    CaseEvent.objects.create(case=rejected, at=rejected.created_at, action="reject", from_state="submitted", to_state="rejected")
    for month in MONTHS:
        _same(leader, Filters(month=month))
    assert not TopicRollup.objects.filter(stale=True, month="2025-04").exists()


def test_a_big_stale_part_is_shown_as_computed_until_the_worker_recomputes_it(world, monkeypatch):
    leader = world["leader"]
    before = _same(leader, Filters(month="2025-04"))
    monkeypatch.setattr(rollup, "TOPICS_INLINE", 0)
    Case.objects.create(number="NEW2", channel="resident", text="广场舞噪音扰民", grid=world["s2c1g1"],
                        grid_path=world["s2c1g1"].path, state="submitted", created_at=datetime(2025, 4, 28, 9, tzinfo=TZ),
                        updated_at=datetime(2025, 4, 28, 9, tzinfo=TZ))
    shown = rollup.topics(leader, Filters(), "2025-04")
    assert shown["stale"] and shown["cases"] == before["cases"]
    done = rollup.refresh_topics()  # the worker: the part that changed, then the months not kept yet
    assert done[0] == ("2025-04", world["s2"].path) and ("2025-04", world["street"].path) not in done
    _same(leader, Filters(month="2025-04"))
    assert rollup.topics(leader, Filters(), "2025-04")["stale"] is False


def test_a_mark_made_during_a_computation_keeps_the_row_stale(world, monkeypatch):
    from gridgov.hotline import clusters

    rollup.topics(world["leader"], Filters(), "2025-04")
    row = TopicRollup.objects.get(month="2025-04", part=world["s2"].path)
    TopicRollup.objects.filter(pk=row.pk).update(stale=True, version=row.version + 1)
    real = clusters.month_topics

    def meanwhile(*a, **kw):  # a change is marked while the part is being read
        TopicRollup.objects.filter(pk=row.pk).update(stale=True, version=row.version + 2)
        return real(*a, **kw)

    monkeypatch.setattr(clusters, "month_topics", meanwhile)
    assert rollup.compute_topics("2025-04", world["s2"].path).stale is True
    monkeypatch.setattr(clusters, "month_topics", real)
    assert rollup.compute_topics("2025-04", world["s2"].path).stale is False


def test_what_the_rollups_cannot_answer_is_computed_live(world, monkeypatch):
    assert rollup.topics(world["secretary"], Filters(), "2025-04") is None
    assert rollup.topics(world["leader"], Filters(community=world["c1"].code), "2025-04") is None
    assert rollup.topics(world["leader"], Filters(), "2025-04", limit=rollup.TOPICS_KEEP + 1) is None
    # through stats.topics they get the live answer
    live = stats.live_topics(world["secretary"], Filters(month="2025-04"), "2025-04")
    assert stats.topics(world["secretary"], Filters(month="2025-04")) == live


def test_the_api_answers_from_the_rollups_with_their_time(world, client):
    client.force_login(world["leader"])
    r = client.get("/api/insight/topics", {"month": "2025-04"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["stale"] is False and body["computed_at"]
    assert body["topics"] == _same(world["leader"], Filters(month="2025-04"))["topics"]
    assert TopicRollup.objects.filter(month="2025-04").count() == 3  # two streets and what lies in none


def test_rebuild_computes_the_latest_month_of_every_part(world):
    assert rollup.rebuild_topics() == 3
    assert set(TopicRollup.objects.values_list("month", flat=True)) == {"2025-04"}
    # the worker then keeps the other months of the year, within its budget
    assert rollup.refresh_topics(budget_seconds=0) == [("2025-03", world["street"].path)]  # one at least, newest first
    assert len(rollup.refresh_topics()) == 8
    assert rollup.refresh_topics() == []
    assert TopicRollup.objects.count() == 12
