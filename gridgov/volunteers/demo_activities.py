"""The demo's year of volunteer activities (part 2 of demo_life), booked through the activities'
services with explicit times, so every rule holds (places never over-subscribed, check-ins
within the radius or with the code of their step, hours clipped to the activity, the ledger
balancing): activities of every team (its leader organises, or the community's staff), of the
communities and of a few party branches; sign-ups by the volunteers with a login (their own
team's first), check-ins by position or code, check-outs, hours confirmed (a few corrected with a
reason), no-shows, a few cancelled activities, and the coming weeks' activities open for sign-up."""

from datetime import timedelta

from django.db import transaction
from gridgov.geo import levels as gl

#: (title, kind, place) by team kind; the communities' and branches' own below
TITLES = {
    "steward": [("楼门长议事会", "steward", "社区议事厅"), ("楼道环境巡查", "steward", "各楼门")],
    "patrol": [("平安巡逻", "patrol", "社区东门"), ("夜间安全巡查", "patrol", "小区中心广场")],
    "environment": [("清理楼道堆物", "environment", "小区楼前"), ("垃圾分类桶前值守", "environment", "垃圾分类驿站")],
    "elderly_care": [("探访独居老人", "elderly_care", "社区养老驿站"), ("为老人理发", "elderly_care", "社区活动室")],
    "culture": [("文明宣传进楼门", "culture", "社区文化广场"), ("读书会", "culture", "社区图书室")],
    "mediation": [("邻里纠纷调解接待", "mediation", "社区调解室"), ("法律咨询进社区", "mediation", "社区服务站")],
    "emergency": [("消防应急演练", "emergency", "小区消防通道"), ("防汛物资清点", "emergency", "社区仓库")],
    "youth": [("四点半课堂", "youth", "社区青少年之家"), ("暑期托管志愿", "youth", "社区活动室")],
}
COMMUNITY = [("社区大扫除", "environment", "社区中心广场"), ("义诊进社区", "elderly_care", "社区卫生服务站"),
             ("便民服务日", "other", "社区服务站")]
BRANCH = [("党员先锋志愿服务", "other", "社区党群服务中心"), ("主题党日·环境整治", "environment", "小区花园")]
CORRECTIONS = ["忘记签退，组织者核实在场", "提前到场帮忙布置", "中途有事提前离开", "手机没电，现场核实"]


def build(rng, start, now, progress, *, password_hash, email_domain) -> dict:
    from gridgov.accounts.models import GridAssignment, Role, User
    from gridgov.geo.models import GridNode
    from gridgov.registry.models import PartyOrganization, Volunteer, VolunteerTeam

    from . import activities as act
    from .models import Activity, SignUp

    communities = list(GridNode.objects.filter(level=gl.community_level()).order_by("path"))
    if not communities:
        return {}
    # who organises: the team's leader, the branch's secretary, else the community's staff
    staff = {}
    for ga in GridAssignment.objects.in_force().filter(
            user__is_active=True, user__role__in=[Role.COMMUNITY_STAFF, Role.COMMUNITY_SECRETARY]
    ).select_related("node", "user").order_by("user__role", "id"):
        for c in communities:
            if ga.node.path.startswith(c.path) and ga.node.level <= gl.grid_level():
                staff.setdefault(c.pk, ga.user)
    fallback = User.objects.filter(is_active=True, role=Role.ADMIN).order_by("id").first()

    def community_of(node):
        for c in communities:
            if node.path.startswith(c.path):
                return c
        return None

    def organiser_for(community):
        return (staff.get(community.pk) if community else None) or fallback

    # who signs up: volunteers with a login, by team; else the volunteer and steward users
    by_team: dict[int, list] = {}
    pool = []
    for v in Volunteer.objects.filter(user__isnull=False, user__is_active=True).select_related("user").order_by("id"):
        pool.append(v.user)
        if v.team_id:
            by_team.setdefault(v.team_id, []).append(v.user)
    if not pool:
        pool = list(User.objects.filter(is_active=True, role__in=[Role.VOLUNTEER, Role.STEWARD]).order_by("id")[:400])
    pool = list(dict.fromkeys(pool))
    if not pool:
        return {}

    plans = []  # (publish kwargs, organiser, members, day)
    # the past year: each team every five to nine months, each community every six to ten, a
    # few branches twice (kept small: every sign-up goes through the services, points and all,
    # some forty queries each; the whole part stays within about fifteen seconds)
    horizon = now - timedelta(days=1)
    teams = []
    for team in VolunteerTeam.objects.filter(ended_on__isnull=True).select_related("grid", "leader").order_by("id"):
        org = team.leader or organiser_for(community_of(team.grid))
        if org is None:
            continue
        teams.append((team, org))
        titles = TITLES.get(team.kind, COMMUNITY)
        day = start + timedelta(days=rng.randrange(10, 200))
        while day < horizon:
            plans.append((_team_kw(team, titles, by_team, rng), org, by_team.get(team.pk, []), day))
            day += timedelta(days=rng.randrange(150, 270))
    orgs = [(c, organiser_for(c)) for c in communities]
    orgs = [(c, o) for c, o in orgs if o is not None]
    for c, org in orgs:
        day = start + timedelta(days=rng.randrange(5, 150))
        while day < horizon:
            title, kind, place = rng.choice(COMMUNITY)
            plans.append((dict(title=title, kind=kind, place_name=place, node=c), org, [], day))
            day += timedelta(days=rng.randrange(180, 300))
    branches = list(PartyOrganization.objects.filter(ended_on__isnull=True, kind="branch").select_related("grid", "secretary")
                    .order_by("id"))
    for b in rng.sample(branches, min(4, len(branches))):
        org = b.secretary or organiser_for(community_of(b.grid))
        if org is None:
            continue
        for k in range(2):
            title, kind, place = BRANCH[k % len(BRANCH)]
            day = start + timedelta(days=rng.randrange(30, 150) + 180 * k)
            plans.append((dict(title=title, kind=kind, place_name=place, party_org=b, node=b.grid), org, [], day))
    # the coming weeks: open for sign-up
    for team, org in rng.sample(teams, min(10, len(teams))):
        day = now + timedelta(days=rng.randrange(2, 21))
        plans.append((_team_kw(team, TITLES.get(team.kind, COMMUNITY), by_team, rng), org, by_team.get(team.pk, []), day))
    for c, org in rng.sample(orgs, min(5, len(orgs))):
        title, kind, place = rng.choice(COMMUNITY)
        plans.append((dict(title=title, kind=kind, place_name=place, node=c), org, [], now + timedelta(days=rng.randrange(2, 21))))

    counts = {"activities": 0, "activity_signups": 0, "activity_no_shows": 0, "activities_cancelled": 0}
    with transaction.atomic():
        for kw, org, members, day in sorted(plans, key=lambda p: p[3]):
            begins = day.replace(hour=rng.choice([9, 9, 14, 15, 19]), minute=rng.choice([0, 30]), second=0, microsecond=0)
            ends = begins + timedelta(hours=rng.choice([1.5, 2, 2, 3]))
            node = kw.pop("node")
            lat, lon = _point(node, rng)
            places = rng.randint(6, 15)
            published = begins - timedelta(days=rng.randint(3, 10))
            a = act.publish(org, node=node, lat=lat, lon=lon, starts_at=begins, ends_at=ends, places=places,
                            now=published, **kw)
            counts["activities"] += 1
            # sign-ups: the team's members first, then anyone (open activities)
            want = rng.randint(2, min(places, 5))
            people = list(members)
            rng.shuffle(people)
            if a.open_to_all:
                others = rng.sample(pool, min(len(pool), want * 2))
                people += [u for u in others if u not in people]
            signed = []
            for u in people[:want]:
                at = published + (begins - published) * rng.random() * 0.9
                try:
                    signed.append(act.sign_up(u, a, now=at))
                except act.ActivityError:
                    continue
            counts["activity_signups"] += len(signed)
            if begins > now:
                continue  # still open for sign-up
            if rng.random() < 0.04 or not signed:
                act.cancel(org, a, reason="天气原因" if rng.random() < 0.5 else "场地临时占用",
                           now=begins - timedelta(hours=1), notify=False)
                counts["activities_cancelled"] += 1
                continue
            if ends > now:
                continue  # under way: left for the organiser
            for s in signed:
                roll = rng.random()
                if roll < 0.1:
                    continue  # never came
                arrive = begins + timedelta(minutes=rng.randint(-20, 20))
                if roll < 0.6:
                    dlat, dlon = (rng.random() - 0.5) * 0.0012, (rng.random() - 0.5) * 0.0012
                    act.check_in(s.user, a, lat=a.lat + dlat, lon=a.lon + dlon, now=arrive)
                elif roll < 0.95:
                    act.check_in(s.user, a, code=act.code_at(a, arrive.timestamp()), now=arrive)
                else:
                    act.check_in_by_hand(org, s, at=max(arrive, begins), now=arrive)
                if rng.random() < 0.85:
                    act.check_out(s.user, a, now=ends + timedelta(minutes=rng.randint(-40, 15)))
                if rng.random() < 0.05:
                    s.refresh_from_db()
                    act.confirm(org, s, hours=str((a.ends_at - a.starts_at).total_seconds() / 3600),
                                reason=rng.choice(CORRECTIONS), now=ends + timedelta(hours=2), notify=False)
            done = act.finish(org, a, now=ends + timedelta(hours=rng.randint(1, 48)), notify=False)
            counts["activity_no_shows"] += done["no_show"]
    if progress:
        progress(f"activities: {counts['activities']} ({counts['activity_signups']} sign-ups, "
                 f"{counts['activity_no_shows']} no-shows, {counts['activities_cancelled']} cancelled)")
    counts["activities_open"] = Activity.objects.filter(state="published", starts_at__gt=now).count()
    counts["activity_hours_confirmed"] = SignUp.objects.filter(state="confirmed").count()
    return counts


def _team_kw(team, titles, by_team, rng):
    title, kind, place = rng.choice(titles)
    only = len(by_team.get(team.pk, [])) >= 3 and rng.random() < 0.3
    return dict(title=title, kind=kind, place_name=place, team=team, node=team.grid, open_to_all=not only)


def _point(node, rng):
    """A point near the middle of the node's area."""
    lat, lon = node.center_lat, node.center_lon
    if lat is None or lon is None:
        if node.min_lat is not None and node.max_lat is not None:
            lat, lon = (node.min_lat + node.max_lat) / 2, (node.min_lon + node.max_lon) / 2
        else:
            lat, lon = 39.79, 116.39
    return lat + (rng.random() - 0.5) * 0.001, lon + (rng.random() - 0.5) * 0.001
