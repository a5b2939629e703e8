"""The demo year of deliberation, the proposals part (called by demo.build_demo_deliberation as it
walks each demo topic through its phases; see demo.py).

Acting through proposals' services, backdated to the phase's time:

* in a phase with proposals open, some topics get a duplicate: a resident of a building with a
  steward proposes the same problem, the steward notes what they heard on their rounds, and the
  community merges the duplicate into the topic (the supports and the note move with it); a
  topic on a building with a steward gets the steward's note directly;
* in a phase with support open, residents of the community support it (a few more each phase);
* in a phase with discussion open, residents comment; a few comments hit the sensitive-word
  list and are held, then released (a false alarm) or rejected by the community.

The people: users whose home (services.home_of) is in the topic's community, the stewards'
logins of the volunteers demo among them; where there are too few, resident logins are made for
residents of the registry (linked by their phone, as volunteers.demo_teams does), chosen with
ctx.rng, kept in ctx.state["proposals"] and shared as ctx.residents."""

from datetime import timedelta

PEOPLE = 14  # residents with a login per community (at least)
CHECK = 60  # candidates looked at per community (home_of is two queries each)
SUPPORTS = {True: (3, 8), False: (1, 4)}  # first support phase / later ones: min, max new supports
NOTES = ["走访了本楼8户，多数反映同样的问题", "老人反映晚上出行不便，希望尽快解决", "和物业沟通过，物业表示需要社区协调",
         "楼里居民议论较多，建议社区牵头", "有居民愿意出力，可组织志愿者"]
COMMENTS = ["支持，希望尽快解决", "这个问题确实存在很久了", "建议物业和社区一起商量个办法", "我们单元也是这样",
            "可以先做个调查，看看大家的意见", "同意，愿意参加议事会", "费用怎么分担需要说清楚", "建议分步实施，先易后难"]
#: held comments: (text, word it carries, released?): a false alarm is released, abuse rejected
HELD = [("蚊子太多了，去死吧蚊子！希望消杀", "去死吧", True), ("物业就是一群傻逼，什么都不管", "傻逼", False),
        ("加微信领红包，扫码进群", "加微信领红包", False)]


def _state(ctx) -> dict:
    return ctx.state.setdefault("proposals", {"people": {}, "created": 0, "dup": {}, "merged": 0, "held": 0,
                                              "released": 0, "rejected": 0, "notes": 0, "password": None})


#: the usernames of the resident logins this part makes (dropped when the demo year is rebuilt)
LOGIN_PREFIX = "yishi"


def drop_logins() -> int:
    """Delete the logins an earlier build of this part made (so a rebuild with the same seed
    plans the same year: the planner picks proposers among the logins it finds)."""
    from gridgov.accounts.models import User
    from gridgov.core.checks import DEMO_EMAIL_DOMAIN

    return User.objects.filter(username__startswith=LOGIN_PREFIX, email__endswith=f"@{DEMO_EMAIL_DOMAIN}").delete()[0]


def _at(ctx, at, minutes):
    return min(at + timedelta(minutes=minutes), ctx.now - timedelta(minutes=1))


def _password(ctx):
    st = _state(ctx)
    if st["password"] is None:
        from gridgov.accounts.models import User
        from gridgov.core.checks import DEMO_EMAIL_DOMAIN

        st["password"] = (User.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}", is_active=True)
                          .exclude(password__startswith="!").order_by("id").values_list("password", flat=True).first()
                          or "!")
    return st["password"]


def _make_logins(ctx, residents) -> list:
    """Resident logins for registry residents (linked by their phone), as demo_teams does."""
    from gridgov.accounts.models import Role, User
    from gridgov.core.checks import DEMO_EMAIL_DOMAIN

    taken = set(User.objects.filter(username__startswith=LOGIN_PREFIX).values_list("username", flat=True))
    users, k = [], 0
    for r in residents:
        k += 1
        while f"{LOGIN_PREFIX}{k:04d}" in taken:
            k += 1
        taken.add(f"{LOGIN_PREFIX}{k:04d}")
        users.append(User(username=f"{LOGIN_PREFIX}{k:04d}", role=Role.RESIDENT, display_name=r.name, password=_password(ctx),
                          email=f"{LOGIN_PREFIX}{k:04d}@{DEMO_EMAIL_DOMAIN}", phone_enc=r.phone_enc,
                          phone_hash=r.phone_hash, phone_masked=r.phone_masked))
    User.objects.bulk_create(users)
    _state(ctx)["created"] += len(users)
    return list(User.objects.filter(username__in=[u.username for u in users]).order_by("id"))


def _free_residents(community, extra_q=None, limit=200):
    """Registry residents of `community` with a phone of their own (home_of needs exactly one
    resident per phone) and no login yet, oldest records first."""
    from django.db.models import Count

    from gridgov.accounts.models import User
    from gridgov.registry.models import Resident

    qs = (Resident.objects.filter(grid__path__startswith=community.path, ended_on__isnull=True, house__isnull=False)
          .exclude(phone_hash=""))
    if extra_q is not None:
        qs = qs.filter(extra_q)
    found = list(qs.order_by("id")[:limit])
    hashes = [r.phone_hash for r in found]
    shared = set(Resident.objects.filter(phone_hash__in=hashes, ended_on__isnull=True).values("phone_hash")
                 .annotate(n=Count("id")).filter(n__gt=1).values_list("phone_hash", flat=True))
    used = set(User.objects.filter(phone_hash__in=hashes).values_list("phone_hash", flat=True))
    return [r for r in found if r.phone_hash not in shared and r.phone_hash not in used]


def people(ctx, community) -> list:
    """Users living in `community` (services.home_of), made when there are too few."""
    from django.db.models import Q

    from gridgov.accounts.models import Role, User
    from gridgov.registry.models import Resident, Volunteer

    from . import services

    st = _state(ctx)
    if community.pk in st["people"]:
        return st["people"][community.pk]
    ids = list(Volunteer.objects.filter(user__isnull=False, ended_on__isnull=True, user__is_active=True)
               .filter(Q(grid__path__startswith=community.path) | Q(building__grid__path__startswith=community.path))
               .order_by("id").values_list("user_id", flat=True)[:CHECK])
    hashes = (Resident.objects.filter(grid__path__startswith=community.path, ended_on__isnull=True)
              .exclude(phone_hash="").values("phone_hash"))
    ids += list(User.objects.filter(role=Role.RESIDENT, is_active=True, phone_hash__in=hashes)
                .order_by("id").values_list("id", flat=True)[:CHECK])
    found = [u for u in User.objects.filter(pk__in=set(ids)).order_by("id")
             if services.home_of(u).community_id == community.pk]
    if len(found) < PEOPLE:
        pool = _free_residents(community)
        ctx.rng.shuffle(pool)
        made = _make_logins(ctx, pool[: PEOPLE - len(found)])
        found += [u for u in made if services.home_of(u).community_id == community.pk]
    st["people"][community.pk] = found
    ctx.residents.setdefault(community.pk, found)
    return found


def _duplicate_pair(ctx, community):
    """(a resident with a login, their building's steward) in `community`: the resident
    proposes a duplicate, the steward notes what they heard. Made once per community."""
    from gridgov.registry.models import Volunteer

    from . import services

    st = _state(ctx)
    if community.pk in st["dup"]:
        return st["dup"][community.pk]
    stewards = {}
    for v in (Volunteer.objects.filter(kind="steward", user__isnull=False, user__is_active=True, ended_on__isnull=True,
                                       building__isnull=False, building__grid__path__startswith=community.path)
              .select_related("user").order_by("id")[:200]):
        stewards.setdefault(v.building_id, v.user)
    pair = None
    if stewards:
        for u in people(ctx, community):
            b = services.home_of(u).building_id
            if b in stewards and stewards[b].pk != u.pk:
                pair = (u, stewards[b])
                break
        if pair is None:
            from django.db.models import Q

            pool = _free_residents(community, Q(house__building_id__in=list(stewards)), limit=50)
            if pool:
                made = _make_logins(ctx, [ctx.rng.choice(pool)])
                u = made[0] if made else None
                if u is not None and services.home_of(u).building_id in stewards:
                    pair = (u, stewards[services.home_of(u).building_id])
                    st["people"].setdefault(community.pk, []).append(u)
    if pair is None:
        pair = (None, None)
    st["dup"][community.pk] = pair
    return pair


def _eligible(ctx, topic) -> list:
    from . import services

    found = people(ctx, topic.community)
    if topic.compound_id:
        found = [u for u in found if services.home_of(u).compound_id == topic.compound_id]
    return found


def _collect(ctx, topic, at):
    """The first collecting phase: a duplicate proposed, noted by its steward, merged in."""
    from . import proposals, services

    st = _state(ctx)
    if topic.building_id:
        for steward in proposals.stewards_of(topic.building_id)[:1]:
            proposals.add_note(steward, topic, ctx.rng.choice(NOTES), now=_at(ctx, at, 20))
            st["notes"] += 1
    if ctx.rng.random() >= 0.25:  # one topic in four gets a neighbour's duplicate
        return
    resident, steward = _duplicate_pair(ctx, topic.community)
    staff = ctx.staff_of(topic)
    if resident is None or staff is None:
        return
    try:
        dup = proposals.propose(resident, title=f"{topic.title[:60]}，希望尽快解决", body="", now=_at(ctx, at, 30))
        proposals.add_note(steward, dup, ctx.rng.choice(NOTES), now=_at(ctx, at, 40))
        st["notes"] += 1
        if dup.community_id == topic.community_id:
            proposals.merge(staff, dup, topic, now=_at(ctx, at, 50))
            st["merged"] += 1
    except services.DeliberationError:
        return


def _support(ctx, topic, phase, at):
    from . import proposals, services
    from .models import Support

    have = set(Support.objects.filter(topic=topic).values_list("user_id", flat=True))
    pool = [u for u in _eligible(ctx, topic) if u.pk not in have]
    if not pool:
        return
    lo, hi = SUPPORTS[not have]
    for i, u in enumerate(ctx.rng.sample(pool, min(len(pool), ctx.rng.randint(lo, hi)))):
        try:
            proposals.support(u, topic, now=_at(ctx, at, 60 + 7 * i))
        except services.DeliberationError:
            return


def _discuss(ctx, topic, at):
    from gridgov.cases.moderation import active_words

    from . import proposals, services

    st = _state(ctx)
    pool = _eligible(ctx, topic)
    if not pool:
        return
    authors = ctx.rng.sample(pool, min(len(pool), ctx.rng.randint(2, 5)))
    texts = ctx.rng.sample(COMMENTS, len(authors))
    words = set(active_words())
    held = [h for h in HELD if h[1] in words]
    staff = ctx.staff_of(topic)
    for i, (u, text) in enumerate(zip(authors, texts)):
        try:
            proposals.comment(u, topic, text, now=_at(ctx, at, 90 + 11 * i))
        except services.DeliberationError:
            return
    if held and staff is not None and ctx.rng.random() < 0.2:
        text, _word, release = ctx.rng.choice(held)
        try:
            c = proposals.comment(ctx.rng.choice(pool), topic, text, now=_at(ctx, at, 150))
            st["held"] += 1
            if release:
                proposals.release_comment(staff, c, now=_at(ctx, at, 600))
                st["released"] += 1
            else:
                proposals.reject_comment(staff, c, "含不文明或广告内容", now=_at(ctx, at, 600))
                st["rejected"] += 1
        except services.DeliberationError:
            return


def on_phase(ctx, topic, phase, at) -> None:
    """Act on `topic`, which has just entered `phase` at `at` (backdated), through this slice's
    services: what the phase's flags open for this slice."""
    from .models import Topic

    if topic.state != Topic.State.OPEN:
        return
    if phase.proposals_open and phase.position == topic.process.phases.filter(proposals_open=True).order_by(
            "position").values_list("position", flat=True).first():
        _collect(ctx, topic, at)
    if phase.support_open:
        _support(ctx, topic, phase, at)
    if phase.discussion_open:
        _discuss(ctx, topic, at)


def counts(ctx) -> dict:
    from .models import Comment, Support, Topic, TopicNote

    st = _state(ctx)
    return {"deliberation_supports": Support.objects.count(),
            "deliberation_comments": Comment.objects.filter(state=Comment.State.VISIBLE).count(),
            "deliberation_comments_held": st["held"], "deliberation_comments_rejected": st["rejected"],
            "deliberation_notes": TopicNote.objects.count(),
            "deliberation_merged": Topic.objects.filter(state=Topic.State.MERGED).count(),
            "deliberation_resident_logins": st["created"]}
