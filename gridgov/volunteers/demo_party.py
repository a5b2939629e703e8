"""Demo part 4 of volunteer life (after teams, activities and wishes): party life, booked through
gridgov.volunteers.party with explicit times.

* 双报到: the people who served this year (their service records, and the volunteers whose
  verified grabs and reports the points demo will count) include party members: a share of them
  register with the community they served in, so that their 实事 are real and varied (met, not
  yet); logins are made for a share of the registry's party-member residents, who register with
  the community where they live (most have no 实事 yet: the roll shows who has still to act);
  a few turn 亮身份 off, a few move away (their registration ended);
* in-service units: registry organisations (units, enterprises, schools, hospitals) register
  their branch with the community where they lie, entered by the community's staff;
* 党员先锋岗: one or two posts on each grid, taken by the members registered there, a few left;
* a branch with registered members and no secretary's login gets one (its secretary_name), to
  show the branch page."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Q
from gridgov.geo import levels as gl

POST_NAMES = ["垃圾分类督导岗", "文明养犬劝导岗", "平安巡逻岗", "邻里调解岗", "为老服务岗", "消防安全宣传岗",
              "楼门议事引导岗", "政策宣讲岗"]
SKILLS = ["法律咨询", "义诊", "家电维修", "政策宣讲", "心理疏导", "辅导功课", "文艺演出", "理发", "", "", ""]
UNIT_KINDS = ("unit", "enterprise", "school", "medical", "social_org")
EMPLOYERS = ["区财政局", "区教委", "区卫健委", "区税务局", "区医院", "区城管委", "区人社局", "区法院", "区检察院",
             "中国银行丰台支行", "国家电网丰台供电公司", "区第二中学"]


def build(rng, start, now, progress, *, password_hash: str, email_domain: str) -> dict:
    from gridgov.accounts.models import Role, User
    from gridgov.cases.models import Case
    from gridgov.geo.models import GridNode
    from gridgov.registry import services as reg
    from gridgov.registry.models import Organization, PartyOrganization, Resident, Volunteer

    from . import party
    from .models import PartyRegistration, ServiceRecord, VanguardPost

    communities = {c.path: c for c in GridNode.objects.filter(level=gl.community_level())}
    if not communities:
        return {}
    admin = User.objects.filter(is_active=True).filter(Q(role=Role.ADMIN) | Q(is_superuser=True)).order_by("id").first()
    if admin is None:
        return {}

    def community_of(node):
        return next((c for p, c in communities.items() if node is not None and node.path.startswith(p)), None)

    # the branches of each community (a branch on one of its grids, else the community's own)
    branches: dict = {}
    for org in PartyOrganization.objects.filter(ended_on__isnull=True).select_related("grid").order_by("id"):
        c = community_of(org.grid)
        if c is not None:
            branches.setdefault(c.pk, []).append(org)

    def when(lo_days=0):
        span = max(1, int((now - start).total_seconds()) - lo_days * 86400)
        return start + timedelta(seconds=rng.randrange(span))

    counts = {"party_registrations": 0, "party_units": 0, "vanguard_posts": 0, "vanguard_duties": 0}
    registered: dict = {}  # user id -> (user, community)

    def register(user, community, resident=None, at=None, org=None):
        orgs = branches.get(community.pk) or [None]
        try:
            r = party.register_member(
                user, community=community, resident=resident, unit_name=rng.choice(EMPLOYERS),
                party_org=org or (resident.party_org if resident and resident.party_org_id else rng.choice(orgs)),
                skills=rng.choice(SKILLS), show_identity=rng.random() < 0.85, now=at or when(30))
        except party.PartyError:
            return None
        registered[user.pk] = (user, community, r)
        counts["party_registrations"] += 1
        return r

    with transaction.atomic():
        # 1. people who served: their home community (service records' grids, else their volunteer grid)
        served = (ServiceRecord.objects.filter(source__in=party.DEED_SOURCES, at__gte=start, node__isnull=False)
                  .values("user_id").annotate(n=Count("id")).order_by("-n", "user_id"))
        servers = {row["user_id"]: row["n"] for row in served}
        # the volunteers whose verified grabs and valid reports the points demo will count
        vol_roles = [Role.VOLUNTEER, Role.STEWARD]
        for field in ("grabbed_by", "reporter"):
            for uid in (Case.objects.filter(state__in=["verified", "closed"], **{f"{field}__role__in": vol_roles})
                        .values_list(f"{field}_id", flat=True).distinct()[:5000]):
                servers.setdefault(uid, 0)
        users = {u.pk: u for u in User.objects.filter(pk__in=list(servers), is_active=True,
                                                      role__in=[Role.RESIDENT, Role.VOLUNTEER, Role.STEWARD])}
        homes = dict(Volunteer.objects.filter(user_id__in=list(users), grid__isnull=False)
                     .values_list("user_id", "grid__path"))
        for uid, path in (ServiceRecord.objects.filter(user_id__in=list(users), node__isnull=False)
                          .values_list("user_id", "node__path").order_by("user_id", "-at")):
            homes.setdefault(uid, path)
        where = {uid: next((c for p, c in communities.items() if path.startswith(p)), None) for uid, path in homes.items()}
        ranked = sorted((u for u in users if where.get(u) is not None), key=lambda u: (-servers[u], u))
        # party members among those who serve: a good share (at least a few)
        chosen = set(rng.sample(ranked, max(min(3, len(ranked)), round(len(ranked) * 0.45))))
        for uid in (u for u in ranked if u in chosen):
            register(users[uid], where[uid], at=start + timedelta(days=rng.randrange(0, 120)))
        n_servers = counts["party_registrations"]

        # 2. logins for a share of the registry's party members, registered where they live
        members = list(Resident.objects.filter(party_member=True, ended_on__isnull=True, grid__isnull=False)
                       .select_related("grid", "party_org").order_by("id"))
        take = rng.sample(members, min(len(members), max(3, len(members) // 25), 400))
        taken_ids = set(Volunteer.objects.filter(resident__in=take, user__isnull=False).values_list("resident_id", flat=True))
        fresh = []
        for i, r in enumerate(take, 1):
            if r.pk in taken_ids:
                continue
            fresh.append((User(username=f"dangyuan{r.pk}", role=Role.RESIDENT, display_name=r.name,
                               password=password_hash, email=f"dangyuan{r.pk}@{email_domain}"), r))
        existing = set(User.objects.filter(username__in=[u.username for u, _ in fresh]).values_list("username", flat=True))
        fresh = [(u, r) for u, r in fresh if u.username not in existing]
        User.objects.bulk_create([u for u, _ in fresh], batch_size=500)
        made = {u.username: u for u in User.objects.filter(username__in=[u.username for u, _ in fresh])}
        for u, r in fresh:
            c = community_of(r.grid)
            if c is not None:
                register(made[u.username], c, resident=r)

        # a few moved away: their registration ended
        for uid, (u, c, r) in list(registered.items()):
            if rng.random() < 0.04 and r.registered_at < now - timedelta(days=20):
                ended = min(now - timedelta(days=1), r.registered_at + timedelta(days=rng.randrange(10, 60)))
                party.end_registration(u, r.pk, reason="搬离本社区", now=ended)
                del registered[uid]
        if progress:
            progress(f"party: {counts['party_registrations']} members registered ({n_servers} of those who served)")

        # 3. in-service units, entered by the community's staff (the administrator where none)
        staff = {}
        for u in User.objects.filter(role__in=[Role.COMMUNITY_STAFF, Role.COMMUNITY_SECRETARY], is_active=True).order_by("id"):
            for p in u.assignments.in_force().values_list("node__path", flat=True):
                if p in communities:
                    staff.setdefault(communities[p].pk, u)
        orgs = list(Organization.objects.filter(kind__in=UNIT_KINDS, ended_on__isnull=True, grid__isnull=False)
                    .select_related("grid").order_by("id"))
        per_c: dict = {}
        for o in rng.sample(orgs, len(orgs)):
            c = community_of(o.grid)
            if c is None or per_c.get(c.pk, 0) >= 6:
                continue
            per_c[c.pk] = per_c.get(c.pk, 0) + 1
            try:
                party.register_unit(staff.get(c.pk, admin), community=c, name=f"{o.name}党支部", unit_name=o.name,
                                    skills=rng.choice(["场地共享", "志愿服务", "资金支持", "专业服务", "文体活动"]), now=when(30))
                counts["party_units"] += 1
            except party.PartyError:
                pass

        # 4. vanguard posts on the grids, taken by the members registered there
        by_c: dict = {}
        for uid, (u, c, r) in registered.items():
            by_c.setdefault(c.pk, []).append(u)
        grids = list(GridNode.objects.filter(level=gl.grid_level()).order_by("path"))
        held: dict = {}
        for g in grids:
            c = community_of(g)
            pool = by_c.get(c.pk, []) if c else []
            if not pool:
                continue
            local_orgs = [o for o in branches.get(c.pk, []) if o.grid_id == g.pk] or [None]
            for name in rng.sample(POST_NAMES, rng.choice([1, 1, 2])):
                made_at = start + timedelta(days=rng.randrange(0, 60))
                post = party.create_post(admin, name=name, node=g, party_org=rng.choice(local_orgs), now=made_at,
                                         description="")
                counts["vanguard_posts"] += 1
                free = [u for u in pool if held.get(u.pk, 0) < 2]  # a member holds one post, two at most
                for u in rng.sample(free, min(len(free), rng.choice([0, 1, 1, 2]))):
                    held[u.pk] = held.get(u.pk, 0) + 1
                    reg_at = registered[u.pk][2].registered_at
                    since = max(made_at, reg_at) + timedelta(days=rng.randrange(1, 30))
                    if since >= now:
                        continue
                    try:
                        party.take_post(u, post.pk, now=since)
                    except party.PartyError:
                        continue
                    counts["vanguard_duties"] += 1
                    if rng.random() < 0.15 and since < now - timedelta(days=40):
                        party.leave_post(u, post.pk, now=since + timedelta(days=rng.randrange(20, 40)))

        # 5. a secretary's login for a few branches with registered members
        with_members = (PartyRegistration.objects.filter(kind="member", state="active", party_org__isnull=False,
                                                         party_org__secretary__isnull=True)
                        .values("party_org_id").annotate(n=Count("id")).order_by("-n", "party_org_id")[:5])
        for row in with_members:
            org = PartyOrganization.objects.get(pk=row["party_org_id"])
            u, _created = User.objects.get_or_create(
                username=f"zhibu{org.pk}", defaults={"role": Role.RESIDENT, "password": password_hash,
                                                     "display_name": org.secretary_name or f"{org.name}书记",
                                                     "email": f"zhibu{org.pk}@{email_domain}"})
            reg.update(org, secretary=u)
        if progress:
            progress(f"party: {counts['party_units']} units, {counts['vanguard_posts']} vanguard posts, "
                     f"{counts['vanguard_duties']} duties")
    counts["vanguard_posts"] = VanguardPost.objects.count()
    return counts
