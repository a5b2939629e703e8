"""A year of disputes (矛盾纠纷) on the demo street, booked through gridwork.disputes' services
with backdated `now=`.

About 280 a year on the full street (Huayang's street mediated 277; scaled by the grids served),
spread over the duty spans of the grid workers (the recorder served the grid that day). Realistic
kinds (neighbours' noise and leaks, family, property fees, wages, rental deposits, ...), two or
three parties with generated names and phones, 1–3 mediation sessions with mediators of several
kinds (the grid worker, 人民调解员, 民警, 律师, 社区干部); about 80 % end agreed, some referred
(派出所, 人民法院, 劳动监察大队, ...), some failed; most ended ones are followed up (a few find the
agreement broken: reopened and mediated again); the last weeks' disputes are still open today,
with a few at risk of escalating (high risk, raised risk, several sessions).

`build` first drops what an earlier build made (every dispute: they belong to the demo) and the
notifications they sent. Deterministic for a seed and a `now`."""

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from . import disputes as svc
from .models import Dispute

#: disputes a year on the full demo street (144 grids)
PER_YEAR = 280
FULL_GRIDS = 144
#: at least this many on a small world
MIN_COUNT = 24
#: disputes recorded in the last OPEN_DAYS days are still being mediated today
OPEN_DAYS = 21

KINDS = [  # (kind, weight, summaries, roles)
    ("neighbour", 30, ["楼上卫生间漏水导致楼下天花板渗水，双方就维修费用发生争执", "楼上夜间噪音扰民，多次沟通无果",
                       "邻居在楼道堆放杂物，影响通行引发争吵", "相邻住户因空调外机位置发生纠纷", "宠物狗夜间吠叫扰民，邻里发生口角"],
     ("投诉方", "被投诉方")),
    ("family", 14, ["夫妻因家庭琐事长期争吵，一方提出离婚", "兄弟姐妹因老人赡养费用分担发生纠纷",
                    "子女因父母房产继承问题发生矛盾", "婆媳关系紧张，多次发生争吵"], ("申请人", "被申请人")),
    ("property", 16, ["业主以服务质量差为由拒交物业费", "地下车库停车费上涨引发业主与物业纠纷",
                      "电梯长期故障，业主与物业就维修责任发生争议", "小区公共收益分配不透明，业主与物业发生争执"], ("业主", "物业")),
    ("labour", 10, ["装修工人讨要拖欠工资", "餐饮店员工离职后工资未结清", "快递站点拖欠临时工工资"],
     ("劳动者", "用工方")),
    ("housing", 13, ["租期届满房东拒不退还押金", "房东提前收房，租客要求赔偿", "合租人员因水电费分摊发生纠纷"],
     ("租客", "房东")),
    ("consumer", 5, ["预付卡门店关门，消费者要求退款", "装修质量问题，业主与装修公司发生纠纷"], ("消费者", "商家")),
    ("debt", 5, ["熟人之间借款到期未还", "合伙经营散伙后账目纠纷"], ("债权人", "债务人")),
    ("traffic", 3, ["小区内电动车与行人剐蹭，就赔偿发生争议", "车辆停放剐蹭，双方就责任发生争执"], ("一方", "另一方")),
    ("other", 4, ["广场舞音响噪音扰民引发居民矛盾", "小区绿地被私自占用种菜引发邻里争执"], ("投诉方", "被投诉方")),
]
REFERRALS = {"labour": ["劳动监察大队", "人民法院"], "traffic": ["派出所"], "debt": ["人民法院"],
             "family": ["人民法院", "派出所"], "consumer": ["市场监管所"]}
MEDIATOR_KINDS = [("mediator", ["王调解员", "李调解员", "赵调解员", "人民调解委员会刘主任"]),
                  ("police", ["社区民警张警官", "社区民警陈警官"]), ("lawyer", ["法律顾问周律师", "法律顾问吴律师"]),
                  ("community", ["社区主任", "社区书记", "居委会委员"])]
AGREEMENTS = ["双方达成口头协议，当场履行", "签订人民调解协议书，约定分期履行", "责任方赔偿损失，双方握手言和",
              "双方各退一步，约定今后互相体谅", "物业承诺整改，业主同意补缴费用"]
FAILURES = ["双方分歧较大，拒绝继续调解，告知诉讼途径", "一方拒不到场，调解终止", "双方对赔偿金额无法达成一致"]
FOLLOW_NOTES = ["回访双方，协议已履行，关系缓和", "电话回访，当事人表示满意", "上门回访，未再发生矛盾"]
BROKEN = ["回访发现一方未按协议履行，矛盾再起", "回访得知双方再次发生争吵"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉鹏飞婷雪梅琳欣宇浩然子涵"


def drop() -> None:
    from gridgov.cases.models import Notification

    Dispute.objects.all().delete()  # parties, sessions and events go with them
    Notification.objects.filter(kind="gridwork_dispute").delete()


def _name(rng):
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def _phone(rng):
    return rng.choice(("13", "15", "17", "18", "19")) + "".join(str(rng.randint(0, 9)) for _ in range(9))


def _aware(d, hh, mm=0):
    return timezone.make_aware(datetime.combine(d, time(hh, mm)))


def build(seed: int = 2024, progress=None, now=None) -> dict:
    with transaction.atomic():
        return _build(seed, progress, now)


def _build(seed, progress, now) -> dict:
    from gridgov.accounts.models import User

    from . import periods

    say = progress or (lambda msg: None)
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    drop()
    first = today.replace(year=today.year - 1) + timedelta(days=1)
    year = periods.Period("demo", "year", first, today)
    spans = [s for s in periods.spans(year, duties=["worker"]) if s.path.count("/") == 4]  # level-2 grids
    workers = {u.pk: u for u in User.objects.filter(pk__in={s.user_id for s in spans}, is_active=True)}
    spans = sorted((s for s in spans if s.user_id in workers), key=lambda s: (s.path, s.first, s.user_id))
    counts = {"gridwork_disputes": 0, "gridwork_dispute_sessions": 0, "gridwork_disputes_agreed": 0,
              "gridwork_disputes_referred": 0, "gridwork_disputes_failed": 0, "gridwork_disputes_closed": 0,
              "gridwork_disputes_open": 0, "gridwork_disputes_reopened": 0, "gridwork_disputes_at_risk": 0}
    if not spans:
        return counts
    grids = {s.path for s in spans}
    total = max(MIN_COUNT, round(PER_YEAR * len(grids) / FULL_GRIDS))
    rng = random.Random(seed * 4001 + 17)
    weights = [k[1] for k in KINDS]
    span_days = [s.days for s in spans]
    plan = []
    for i in range(total):
        s = rng.choices(spans, weights=span_days)[0]
        day = s.first + timedelta(days=rng.randrange(s.days))
        at = _aware(day, 8, 30) + timedelta(minutes=rng.randint(0, 600))
        if at >= now:
            at = now - timedelta(hours=rng.randint(1, 6))
        plan.append((at, i, s))
    plan.sort(key=lambda t: (t[0], t[1]))
    for n, (at, i, s) in enumerate(plan):
        r = random.Random(seed * 7919 + i * 31 + 5)
        worker = workers[s.user_id]
        kind, _w, summaries, roles = r.choices(KINDS, weights=weights)[0]
        risk = r.choices(["low", "medium", "high"], weights=[66, 27, 7])[0]
        parties = [(_name(r), _phone(r), roles[0], None), (_name(r), _phone(r) if r.random() < 0.9 else "", roles[1], None)]
        if r.random() < 0.15:
            parties.append((_name(r), _phone(r), roles[1], None))
        d = svc.record_dispute(worker, kind, r.choice(summaries), parties, risk=risk, place=r.choice(
            ["小区内", "楼道", "商铺", "出租屋", "小区门口", "家中"]), grid=s.node_id, now=at)
        counts["gridwork_disputes"] += 1
        _mediate(r, d, worker, at, now, today, counts)
        if n % 50 == 0:
            say(f"gridwork disputes: {n + 1}/{len(plan)}")
    counts["gridwork_disputes_open"] = Dispute.objects.open().count()
    counts["gridwork_disputes_at_risk"] = svc.annotated(Dispute.objects.all()).filter(svc.at_risk_q(now)).count()
    for state in ("agreed", "referred", "failed", "closed"):
        counts[f"gridwork_disputes_{state}"] = Dispute.objects.filter(state=state).count()
    say(f"gridwork disputes: {counts}")
    return counts


def _mediator(r, worker):
    kind, names = r.choice(MEDIATOR_KINDS)
    return [{"kind": "grid_worker", "name": worker.display_name or worker.username, "user": worker.pk},
            {"kind": kind, "name": r.choice(names)}]


def _mediate(r, d, worker, at, now, today, counts):
    """Sessions, the end, the follow-up of one dispute, as far as `now` allows."""
    recent = (now - at).days < OPEN_DAYS
    stuck = not recent and r.random() < 0.015  # an old one still being mediated today
    sessions = r.choices([1, 2, 3], weights=[55, 32, 13])[0]
    if stuck:
        sessions = max(sessions, 2)
    t = at
    for k in range(sessions):
        t = t + timedelta(days=r.randint(1, 6), hours=r.randint(0, 5))
        if t >= now or (recent and r.random() < 0.4):
            break
        svc.add_session(worker, d, t, _mediator(r, worker), r.choice(["听取双方陈述", "释法明理，耐心疏导", "现场查看，提出调解方案"]),
                        now=t)
        counts["gridwork_dispute_sessions"] += 1
    if recent or stuck:
        if r.random() < 0.15 and d.risk != "high":
            svc.set_risk(worker, d, "high", "当事人情绪激动，有激化苗头", now=min(t + timedelta(hours=2), now))
        return
    end = t + timedelta(days=r.randint(0, 3), hours=2)
    if end >= now:
        return
    roll = r.random()
    referrals = REFERRALS.get(d.kind, ["司法所", "派出所"])
    if roll < 0.80 and d.sessions.exists():
        svc.end_dispute(worker, d, "agreed", r.choice(AGREEMENTS), now=end)
    elif roll < 0.92 or not d.sessions.exists():
        svc.end_dispute(worker, d, "referred", "超出调解范围，依法移交", referred_to=r.choice(referrals), now=end)
    else:
        svc.end_dispute(worker, d, "failed", r.choice(FAILURES), now=end)
    d.refresh_from_db()
    fu_day = d.follow_up_on + timedelta(days=r.randint(-3, 6))
    fu = _aware(fu_day, 9) + timedelta(minutes=r.randint(0, 480))
    if fu >= now or r.random() < 0.08:  # not yet, or forgotten (overdue)
        return
    if d.state == "agreed" and r.random() < 0.04:
        svc.follow_up(worker, d, r.choice(BROKEN), holds=False, now=fu)
        counts["gridwork_disputes_reopened"] += 1
        t2 = fu + timedelta(days=r.randint(1, 4))
        if t2 < now:
            svc.add_session(worker, d, t2, _mediator(r, worker), "再次调解", now=t2)
            counts["gridwork_dispute_sessions"] += 1
        end2 = t2 + timedelta(days=2)
        if end2 < now and r.random() < 0.7:
            svc.end_dispute(worker, d, "agreed", "重新达成协议并当场履行", now=end2)
        return
    svc.follow_up(worker, d, r.choice(FOLLOW_NOTES), now=fu)
