"""The demo year of deliberation, the meetings part (called by demo.build_demo_deliberation as it
walks each demo topic through its phases; see demo.py).

When a topic enters a phase with `meeting` at `at`, the community's staff convene a meeting a
few days later (on site mostly, some online) of 5–9 parties: the staff themselves, the property
company of the topic's compound (the registry's organization, with its property staff login
when there is one), the owners' committee, a unit, resident representatives (the building's
steward and a resident with a login among them) and a department. Two or three options come
from a small table of realistic options per kind of problem. Most parties attend; they vote; the
meeting closes with a decision, its owner (the staff member) and a deadline 2–6 weeks later, and
minutes in Chinese. Once in the year a first meeting misses the quorum and the topic is decided
at a second meeting a week later. A meeting that would start after the demo's "now" stays
scheduled (an upcoming meeting). Everything goes through meetings.py's services, backdated with
now=, deterministic with ctx.rng."""

from datetime import timedelta

from django.utils import timezone

from . import conf, meetings
from .models import Decision, Invitee, Meeting, Vote

#: (keywords in the topic's title or problem category, the options offered)
OPTIONS = [
    (("停车", "车位", "车辆", "僵尸车"), ["重新施划车位，按楼门错时停车", "引入停车管理公司，收费管理", "清理僵尸车后由业委会按户分配车位"]),
    (("垃圾", "分类", "环境", "卫生", "清运"), ["增设分类投放点，早晚定时投放、志愿者桶前值守", "物业每日两次清运，增加保洁频次", "撤桶并站，设置集中投放站"]),
    (("噪音", "噪声", "扰民", "广场舞"), ["划定活动区域和时段，晚八点半后停止外放", "活动改到小区北侧空地，使用低音量设备", "由居民公约约定，楼门长协调"]),
    (("堆物", "楼道", "消防", "飞线", "充电"), ["限期清理楼道堆物，设置临时存放点", "加装电动车集中充电桩，禁止入户充电", "物业每月巡查一次，楼门长日常劝导"]),
    (("绿化", "树", "草坪", "绿地"), ["修剪遮挡采光的树木，补种绿篱", "闲置绿地改建为口袋公园", "居民认领绿地，志愿者养护"]),
    (("电梯", "加装"), ["申请老楼加装电梯，按楼层分摊费用", "先改造楼梯扶手和休息座椅", "暂缓，待半数以上住户同意后再议"]),
    (("路灯", "照明", "灯"), ["增设太阳能路灯六盏", "更换损坏灯具，物业定期巡检", "楼门口加装感应灯"]),
    (("漏水", "管道", "下水", "供暖", "暖气"), ["物业牵头更换老化管道，维修资金列支", "申请街道老旧小区改造项目统一更换", "先行疏通维修，入冬前完成"]),
    (("宠物", "犬", "狗"), ["设置宠物便便箱，倡导文明养犬", "划定遛犬区域和时段", "联合派出所开展养犬登记"]),
]
DEFAULT_OPTIONS = ["由物业牵头限期整改，社区跟踪督办", "申请街道专项资金统一改造", "成立居民自治小组自行管理，志愿者协助"]

SURNAMES = "王李张刘赵杨陈孙马高郭周徐朱胡吴于董宋韩田杜郝黄"
GIVEN = "伟刚勇磊涛斌军辉杰强峰秀兰英淑珍凤芳玉桂华琴云霞梅敏建国明德文"
PLACES = ["社区议事厅", "社区党群服务中心二楼会议室", "小区物业服务中心", "社区居委会会议室", "小区北门广场（大槐树下）"]


def _name(rng) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def options_for(topic) -> list[str]:
    text = " ".join([topic.title, topic.body, topic.problem_category, topic.problem_category_l1,
                     topic.problem_category_l2])
    for words, options in OPTIONS:
        if any(w in text for w in words):
            return options
    return DEFAULT_OPTIONS


def _property(topic):
    """The topic's compound's property company (the registry's), else one serving the community."""
    from gridgov.registry.models import Compound, PropertyProject

    if topic.compound_id:
        company = topic.compound.property_company
        if company is None:
            project = PropertyProject.objects.filter(compounds=topic.compound).select_related("company").first()
            company = project.company if project else None
        if company is not None:
            return company
    c = (Compound.objects.filter(community=topic.community, property_company__isnull=False)
         .select_related("property_company").order_by("id").first())
    return c.property_company if c else None


def _invitees(ctx, topic, staff, n: int) -> list[dict]:
    from gridgov.accounts.models import Department, Role, User
    from gridgov.registry.models import Organization, Volunteer

    rng = ctx.rng
    place = topic.compound.name if topic.compound_id else topic.community.name
    out = [{"party": Invitee.Party.COMMUNITY, "user": staff.pk}]
    users = {staff.pk}
    company = _property(topic)
    if company is not None:
        person = (User.objects.filter(is_active=True, role=Role.PROPERTY_STAFF, department=company.name)
                  .order_by("id").first())
        if person is not None and person.pk not in users:
            users.add(person.pk)
            out.append({"party": Invitee.Party.PROPERTY, "name": f"{company.name} {meetings.person_name(person)}"[:100],
                        "user": person.pk, "organization": company.pk})
        else:
            out.append({"party": Invitee.Party.PROPERTY, "name": f"{company.name} {_name(rng)}经理"[:100],
                        "organization": company.pk})
    else:
        out.append({"party": Invitee.Party.PROPERTY, "name": f"{place}物业服务中心 {_name(rng)}经理"})
    out.append({"party": Invitee.Party.OWNERS, "name": f"{place}业委会 {_name(rng)}主任"})
    steward = None
    if topic.building_id:
        steward = Volunteer.objects.filter(kind="steward", building_id=topic.building_id, ended_on__isnull=True,
                                           user__isnull=False).first()
    if steward is not None and steward.user_id not in users:
        users.add(steward.user_id)
        out.append({"party": Invitee.Party.RESIDENT, "name": f"{steward.name}（楼门长）", "user": steward.user_id})
    residents = [u for u in ctx.residents.get(topic.community_id, []) if u.pk not in users]
    if residents:
        u = rng.choice(residents)
        users.add(u.pk)
        out.append({"party": Invitee.Party.RESIDENT, "user": u.pk})
    unit = (Organization.objects.filter(kind="unit", grid__path__startswith=topic.community.path, ended_on__isnull=True)
            .order_by("id").first())
    dept = Department.objects.filter(active=True, kind__in=[Department.Kind.UNIT, Department.Kind.SECTION]).order_by("id")
    depts = list(dept[:12])
    extra = []
    if unit is not None:
        extra.append({"party": Invitee.Party.UNIT, "name": unit.name, "organization": unit.pk})
    else:
        extra.append({"party": Invitee.Party.UNIT, "name": "驻区单位代表 " + _name(rng)})
    extra.append({"party": Invitee.Party.DEPARTMENT, "name": rng.choice(depts).name if depts else "街道城市管理办公室"})
    out += extra
    while len(out) < n:
        out.append({"party": Invitee.Party.RESIDENT, "name": f"居民代表 {_name(rng)}"})
    return out[:max(n, 5)]


def _starts(ctx, day) -> object:
    local = timezone.localtime(day)
    hour, minute = ctx.rng.choice([(19, 0), (19, 30), (9, 30), (14, 30), (15, 0)])
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)


def _convene(ctx, topic, staff, starts, now, *, second=False) -> Meeting:
    rng = ctx.rng
    online = rng.random() < 0.25
    n = rng.randint(5, 9)
    title = f"“{topic.title}”{'第二次' if second else ''}议事会"
    options = options_for(topic)[: rng.choice((2, 3, 3))]
    return meetings.convene(staff, topic, title=title[:100], mode=Meeting.Mode.ONLINE if online else Meeting.Mode.ONSITE,
                            place="" if online else rng.choice(PLACES), starts_at=starts,
                            ends_at=starts + timedelta(minutes=rng.choice((60, 90, 120))),
                            invitees=_invitees(ctx, topic, staff, n), options=options, now=now)


def _hold(ctx, m: Meeting, staff, *, fail: bool = False):
    """Attendance, votes and the close of meeting `m` (backdated to its time)."""
    rng = ctx.rng
    at = m.starts_at
    rows = list(m.invitees.order_by("id"))
    needed = meetings.quorum_needed(len(rows), conf.get_float("DELIBERATION_QUORUM"))
    if fail:
        k = max(1, needed - 1)
    else:
        k = max(needed, sum(1 for _ in rows if rng.random() < 0.88))
    chosen = set(r.pk for r in ([rows[0]] + rng.sample(rows[1:], min(k, len(rows)) - 1)))
    online = m.mode == Meeting.Mode.ONLINE
    for r in rows:  # online: those with a login join themselves
        if online and r.pk in chosen and r.user_id and r.user_id != staff.pk:
            meetings.join(r.user, m, now=at + timedelta(minutes=rng.randint(-10, 5)))
    meetings.record_attendance(staff, m, {r.pk: r.pk in chosen for r in rows
                                          if not (online and r.user_id and r.user_id != staff.pk and r.pk in chosen)},
                               now=at + timedelta(minutes=5))
    present = [r for r in rows if r.pk in chosen]
    options = list(m.options.order_by("position"))
    count = None
    if not fail:
        winner = 0 if rng.random() < 0.7 else 1
        need = meetings.majority_needed(len(present), conf.get_float("DELIBERATION_MAJORITY"))
        yes = min(len(present), max(need, len(present) // 2 + 1, round(len(present) * rng.uniform(0.6, 0.95))))
        order = present[:]
        rng.shuffle(order)
        for i, r in enumerate(order):
            choice = options[winner] if i < yes else rng.choice([o for o in options if o != options[winner]])
            t = at + timedelta(minutes=40 + i)
            if online and r.user_id:
                meetings.vote(r.user, m, option=choice, now=t)
            else:
                meetings.vote(staff, m, option=choice, invitee=r, now=t)
        count = (options[winner], yes)
    closed = at + timedelta(minutes=rng.choice((75, 90, 110)))
    deadline = timezone.localtime(closed).date() + timedelta(weeks=rng.randint(2, 6))
    minutes = _minutes(m, rows, present, options, count, staff, deadline)
    work = ""
    if count:
        work = f"{count[0].text}。{deadline.month}月{deadline.day}日前完成，完成后上传照片，向居民公开结果。"
    return meetings.close(staff, m, minutes=minutes, owner=staff if count else None, deadline=deadline if count else None,
                          work=work, now=closed)


def _minutes(m, rows, present, options, count, staff, deadline) -> str:
    local = timezone.localtime(m.starts_at)
    where = m.place or "线上会议室"
    names = "、".join(f"{r.get_party_display()}{'' if r.name.startswith(str(r.get_party_display())) else ' ' + r.name}"
                     for r in present)
    lines = [
        f"{local.year}年{local.month}月{local.day}日{local.hour}:{local.minute:02d}，社区在{where}召开“{m.topic.title}”议事会，"
        f"由{meetings.person_name(staff)}主持。应到{len(rows)}方，实到{len(present)}方：{names}。",
    ]
    if count is None:
        lines.append("因到会人数未达到法定比例，会议仅通报了议题情况和居民意见，未进行表决。社区将另行召集各方协商。")
        return "\n".join(lines)
    opts = "；".join(f"方案{i}：{o.text}" for i, o in enumerate(options, start=1))
    parties = {r.party for r in present}
    said = ["社区通报了议题的由来和居民附议、讨论情况"]
    if Invitee.Party.PROPERTY in parties:
        said.append("物业介绍了现场情况和可行做法")
    voices = [str(Invitee.Party(p).label) for p in (Invitee.Party.OWNERS, Invitee.Party.RESIDENT, Invitee.Party.UNIT)
              if p in parties]
    if voices:
        said.append("和".join(voices) + "发表了意见")
    if Invitee.Party.DEPARTMENT in parties:
        said.append("职能部门就政策要求和审批流程作了说明")
    lines += [
        "会上，" + "；".join(said) + "。",
        f"经充分讨论，形成{len(options)}个方案：{opts}。",
        f"与会各方现场表决，“{count[0].text}”获得{count[1]}票，超过到会方的半数。",
        f"会议决定：{count[0].text}。由{meetings.person_name(staff)}负责督办，{deadline.month}月{deadline.day}日前完成，"
        "办理进展在小区公告栏和手机端公开。",
    ]
    return "\n".join(lines)


def on_phase(ctx, topic, phase, at) -> None:
    """Act on `topic`, which has just entered `phase` at `at` (backdated), through this slice's
    services: a phase with `meeting` gets its meeting(s)."""
    from .models import Topic

    if not phase.meeting or topic.state != Topic.State.OPEN:
        return
    staff = ctx.staff_of(topic)
    if staff is None:
        return
    state = ctx.state.setdefault("meetings", {"failed_once": False})
    limit = ctx.now - timedelta(hours=3)
    starts = _starts(ctx, at + timedelta(days=ctx.rng.randint(2, 4)))
    fail = not state["failed_once"] and starts + timedelta(days=7, hours=3) < limit
    m = _convene(ctx, topic, staff, starts, now=at)
    if starts >= limit:
        return  # upcoming
    if fail:
        state["failed_once"] = True
        _hold(ctx, m, staff, fail=True)
        topic.refresh_from_db()
        starts = _starts(ctx, starts + timedelta(days=7))
        m = _convene(ctx, topic, staff, starts, now=m.starts_at + timedelta(hours=3), second=True)
    _hold(ctx, m, staff)


def counts(ctx) -> dict:
    return {
        "deliberation_meetings": Meeting.objects.count(),
        "deliberation_meetings_held": Meeting.objects.filter(state=Meeting.State.HELD).count(),
        "deliberation_meetings_without_decision": Meeting.objects.filter(state=Meeting.State.HELD)
        .exclude(pk__in=Decision.objects.filter(meeting__isnull=False).values("meeting_id")).count(),
        "deliberation_meeting_votes": Vote.objects.count(),
    }
