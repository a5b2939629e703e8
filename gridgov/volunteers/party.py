"""Party life (issue 11): 双报到, 党员先锋岗, 亮身份 and each member's 实事 of the year.

* 双报到: an in-service party member registers themselves with the community where they live
  (`register_member`, kind member: one active registration per member and community), an
  in-service unit's branch registers with the community where the unit lies (`register_unit`,
  by the unit's contact or by community staff). The member toggles 亮身份 (`update_registration`)
  and ends their registration (`end_registration`; staff may end any in their scope). The
  community's staff read the roll (`roll`, party × list, scoped by the registration's community).
* 先锋岗: staff create and close posts on a grid (party × update on the grid); a registered
  member of the post's community takes one or leaves it, or staff assign one
  (`take_post`, `leave_post`, `assign_post`).
* 实事: each piece of service (ServiceRecord) of source activity, wish, grab or report in the
  year is one 实事; a member is expected to do VOLUNTEERS_PARTY_DEEDS_EXPECTED a year
  (`deeds_table`: one aggregate query for every member; per member, community and branch).
  A branch's secretary (PartyOrganization.secretary) sees their branch's members (a relation).
* `shows_party_identity(user)`: whether to show a 党员 badge beside a person (an active
  registration with 亮身份 on); `party_identity_ids(user_ids)` answers for a list at once.

Every change is one transaction with one history row (kind "party")."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.geo import levels as gl
from gridgov.accounts import policy
from gridgov.accounts.querysets import within_reach
from gridgov.core import history
from gridgov.core.errors import CodedError

from . import conf
from .models import PartyRegistration, ServiceRecord, VanguardDuty, VanguardPost
from .services import person_name as _name

#: the service that counts as a 实事 (a patrol is a steward's routine, not one)
DEED_SOURCES = (ServiceRecord.Source.ACTIVITY, ServiceRecord.Source.WISH, ServiceRecord.Source.GRAB,
                ServiceRecord.Source.REPORT)
#: a registration is in a user's scope by its community, or by the member's home grid (a grid worker's)
REG_PATHS = ("community__path", "grid__path")
REG_FIELDS = ["kind", "name", "unit_name", "party_org", "community", "grid", "show_identity", "skills", "state"]


class PartyError(CodedError):
    status = 400


class NotAllowed(PartyError):
    status = 403
    code = "not_allowed"


class NotFound(PartyError):
    status = 404
    code = "not_found"


class Conflict(PartyError):
    status = 409
    code = "conflict"


def _signed_in(user):
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        raise NotAllowed(_("请先登录"))


def _notify(user, title: str, body: str = ""):
    if user is None:
        return
    from gridgov.cases import notify

    notify.queue(user, "party", title, body)


# --- communities ------------------------------------------------------------------------------


def communities():
    """The communities (level 1) one may register with."""
    from gridgov.geo.models import GridNode

    return GridNode.objects.filter(level=gl.community_level()).order_by("path")


def community_of(node):
    """The community (level 1) at or above `node` (None above the communities)."""
    from gridgov.geo.models import GridNode

    k = gl.community_level()
    if node is None or node.level < k:
        return None
    if node.level == k:
        return node
    codes = gl.codes_of(node.path)
    return GridNode.objects.filter(code=codes[k], level=k).first() if len(codes) > k else None


def _as_community(node_or_id):
    from gridgov.geo.models import GridNode

    node = node_or_id
    if not isinstance(node, GridNode):
        try:
            node = GridNode.objects.filter(Q(code=str(node_or_id)) | Q(pk=int(node_or_id))).first()
        except (TypeError, ValueError):
            node = GridNode.objects.filter(code=str(node_or_id)).first()
    community = community_of(node)
    if community is None:
        raise PartyError(_("请选择报到的社区"), code="community")
    return community


def _as_org(org_or_id):
    from gridgov.registry.models import PartyOrganization

    if org_or_id in (None, "", 0):
        return None
    if isinstance(org_or_id, PartyOrganization):
        return org_or_id
    try:
        org = PartyOrganization.objects.filter(pk=int(org_or_id), ended_on__isnull=True).first()
    except (TypeError, ValueError):
        org = None
    if org is None:
        raise PartyError(_("没有这个党组织"), code="party_org")
    return org


def linked_resident(user):
    """The registry resident linked to `user` (through their volunteer record), if any."""
    from gridgov.registry.models import Volunteer

    vol = Volunteer.objects.filter(user=user, resident__isnull=False).select_related("resident__grid").first()
    return vol.resident if vol else None


def home_of(user):
    """(community, grid, resident) where `user` lives, from their linked resident record
    (else their volunteer record's grid); (None, None, None) when unknown."""
    from gridgov.registry.models import Volunteer

    resident = linked_resident(user)
    grid = resident.grid if resident and resident.grid_id else None
    if grid is None:
        vol = Volunteer.objects.filter(user=user, grid__isnull=False).select_related("grid").first()
        grid = vol.grid if vol else None
    community = community_of(grid)
    return community, (grid if grid is not None and community is not None and grid.level > gl.community_level() else None), resident


# --- 亮身份 -----------------------------------------------------------------------------------


def shows_party_identity(user) -> bool:
    """Whether `user` shows themselves as a party member (亮身份): an active member registration
    with show_identity on. Pages (activities, wishes, ...) show a 党员 badge beside them."""
    if user is None or not getattr(user, "pk", None):
        return False
    return PartyRegistration.objects.filter(kind=PartyRegistration.Kind.MEMBER, user_id=user.pk,
                                            state=PartyRegistration.State.ACTIVE, show_identity=True).exists()


def party_identity_ids(user_ids) -> set:
    """Of `user_ids`, those who show themselves as party members (one query for a list)."""
    ids = [i for i in user_ids if i]
    if not ids:
        return set()
    return set(PartyRegistration.objects.filter(kind=PartyRegistration.Kind.MEMBER, user_id__in=ids,
                                                state=PartyRegistration.State.ACTIVE, show_identity=True)
               .values_list("user_id", flat=True))


# --- 双报到 -----------------------------------------------------------------------------------


def _may_manage(user, community) -> bool:
    return policy.allows(user, "party", "update", community.path)


def _snapshot(reg):
    return history.snapshot(reg, REG_FIELDS)


def register_member(user, *, community=None, unit_name: str = "", party_org=None, skills: str = "",
                    show_identity: bool = True, name: str = "", now=None, resident=None) -> PartyRegistration:
    """A party member registers themselves with the community where they live (双报到). Without
    a community, the one of their linked resident record. One active registration per community.
    `resident`: the registry record the member is, when the caller knows it (not from a client:
    the API and pages never pass it; the demo does)."""
    _signed_in(user)
    now = now or timezone.now()
    if resident is not None:
        home, grid = community_of(resident.grid), resident.grid
        grid = grid if grid is not None and grid.level > gl.community_level() else None
    else:
        home, grid, resident = home_of(user)
    if community in (None, ""):
        if home is None:
            raise PartyError(_("请选择报到的社区"), code="community")
        community = home
    else:
        community = _as_community(community)
    if home is None or home.pk != community.pk:
        grid, resident = None, (resident if home is None else None)
    org = _as_org(party_org)
    name = (name or "").strip()[:100] or getattr(user, "display_name", "") or user.username
    with transaction.atomic():
        if PartyRegistration.objects.filter(kind=PartyRegistration.Kind.MEMBER, user=user, community=community,
                                            state=PartyRegistration.State.ACTIVE).exists():
            raise Conflict(_("您已在%(community)s报到"), code="registered", community=community.name)
        try:
            with transaction.atomic():
                reg = PartyRegistration.objects.create(
                    kind=PartyRegistration.Kind.MEMBER, user=user, resident=resident, name=name,
                    unit_name=(unit_name or "").strip()[:150], party_org=org, community=community, grid=grid,
                    show_identity=bool(show_identity), skills=(skills or "").strip()[:200], registered_at=now)
        except IntegrityError:  # registered meanwhile (another tab)
            raise Conflict(_("您已在%(community)s报到"), code="registered", community=community.name) from None
        history.record(user, "party", reg, "create", history.diff({}, _snapshot(reg)), grid_path=community.path, at=now)
        if org is not None and org.secretary_id and org.secretary_id != user.pk:
            _notify(org.secretary, f"党员{reg.name}已到{community.name}报到", reg.unit_name)
    return reg


def register_unit(actor, *, community, name: str, unit_name: str, party_org=None, skills: str = "",
                  now=None) -> PartyRegistration:
    """An in-service unit's branch registers with the community where the unit lies: by the
    unit's contact (any signed-in user) or by the community's staff. One active registration of
    a unit per community."""
    _signed_in(actor)
    now = now or timezone.now()
    community = _as_community(community)
    unit_name = (unit_name or "").strip()[:150]
    org = _as_org(party_org)
    name = (name or "").strip()[:100] or (org.name if org else "")
    if not unit_name:
        raise PartyError(_("请填写单位名称"), code="unit_name")
    if not name:
        raise PartyError(_("请填写单位党组织名称"), code="name")
    with transaction.atomic():
        # one writer at a time per community's unit roll (no unique constraint on the name)
        from gridgov.geo.models import GridNode

        list(GridNode.objects.select_for_update().filter(pk=community.pk))
        if PartyRegistration.objects.filter(kind=PartyRegistration.Kind.UNIT, community=community,
                                            unit_name=unit_name, state=PartyRegistration.State.ACTIVE).exists():
            raise Conflict(_("%(unit)s已在%(community)s报到"), code="registered", unit=unit_name, community=community.name)
        reg = PartyRegistration.objects.create(
            kind=PartyRegistration.Kind.UNIT, user=actor, name=name, unit_name=unit_name, party_org=org,
            community=community, skills=(skills or "").strip()[:200], registered_at=now)
        history.record(actor, "party", reg, "create", history.diff({}, _snapshot(reg)), grid_path=community.path, at=now)
    return reg


def _registration(reg_id, lock=False) -> PartyRegistration:
    qs = PartyRegistration.objects.select_related("community", "party_org")
    if lock:
        qs = qs.select_for_update(of=("self",))
    reg = qs.filter(pk=reg_id).first()
    if reg is None:
        raise NotFound(_("没有这条报到记录"))
    return reg


def update_registration(actor, reg_id, *, show_identity=None, skills=None, now=None) -> PartyRegistration:
    """The member (or whoever registered a unit, or the community's staff) changes 亮身份 or the
    skills offered."""
    _signed_in(actor)
    with transaction.atomic():
        reg = _registration(reg_id, lock=True)
        if reg.user_id != actor.pk and not _may_manage(actor, reg.community):
            raise NotAllowed(_("只能修改自己的报到信息"))
        if reg.state != PartyRegistration.State.ACTIVE:
            raise Conflict(_("该报到已注销"), code="ended")
        before = _snapshot(reg)
        if show_identity is not None:
            reg.show_identity = bool(show_identity)
        if skills is not None:
            reg.skills = str(skills).strip()[:200]
        changes = history.diff(before, _snapshot(reg))
        if changes:
            reg.save(update_fields=["show_identity", "skills"])
            history.record(actor, "party", reg, "update", changes, grid_path=reg.community.path, at=now)
    return reg


def end_registration(actor, reg_id, *, reason: str = "", now=None) -> PartyRegistration:
    """End a registration (moved, transferred): the member themselves, whoever registered a unit,
    or the community's staff. A member's vanguard posts in that community end with it."""
    _signed_in(actor)
    now = now or timezone.now()
    with transaction.atomic():
        reg = _registration(reg_id, lock=True)
        if reg.user_id != actor.pk and not _may_manage(actor, reg.community):
            raise NotAllowed(_("只能注销自己的报到"))
        if reg.state != PartyRegistration.State.ACTIVE:
            raise Conflict(_("该报到已注销"), code="ended")
        reg.state, reg.ended_at = PartyRegistration.State.ENDED, now
        reg.save(update_fields=["state", "ended_at"])
        ended_duties = 0
        if reg.kind == PartyRegistration.Kind.MEMBER and reg.user_id:
            ended_duties = VanguardDuty.objects.filter(user_id=reg.user_id, until__isnull=True,
                                                       post__node__path__startswith=reg.community.path).update(until=now)
        history.record(actor, "party", reg, "end", {"state": ["active", "ended"]}, grid_path=reg.community.path,
                       note=(reason or "")[:200] + (f" ({ended_duties} 先锋岗)" if ended_duties else ""), at=now)
        if reg.user_id and reg.user_id != actor.pk:
            _notify(reg.user, f"您在{reg.community.name}的报到已注销", reason)
    return reg


def my_registrations(user, active_only: bool = False):
    qs = PartyRegistration.objects.filter(user=user).select_related("community", "grid", "party_org")
    if active_only:
        qs = qs.filter(state=PartyRegistration.State.ACTIVE)
    return qs.order_by("state", "-registered_at", "-id")


def _scoped(user, qs, path_field, kind_action=("party", "list")):
    """`qs` narrowed to the grids `user` reaches for party × action (403 when never);
    `path_field`: a path field, or several (a row in scope by any of them)."""
    if policy.reach(user, *kind_action) == policy.NEVER:
        raise NotAllowed(_("该页面仅限工作人员"))
    return within_reach(qs, user, *kind_action, *((path_field,) if isinstance(path_field, str) else path_field))


def roll(user, *, community=None, kind: str = "", state: str = "active", year: int | None = None):
    """The 双报到 roll `user` reads (party × list): registrations whose community lies in their
    scope, filtered by community, kind, state ("" every state) and year registered."""
    qs = _scoped(user, PartyRegistration.objects.select_related("community", "grid", "party_org", "user"),
                 REG_PATHS)
    if community:
        qs = qs.filter(community=_as_community(community))
    if kind:
        qs = qs.filter(kind=kind)
    if state:
        qs = qs.filter(state=state)
    if year:
        qs = qs.filter(registered_at__year=int(year))
    return qs.order_by("community__path", "kind", "-registered_at", "-id")


def roll_counts(user, year: int | None = None) -> list[dict]:
    """Per community in scope: active members, active units, registered this year (one query)."""
    year = year or timezone.localdate().year
    start, end = _year_bounds(year)
    qs = _scoped(user, PartyRegistration.objects.all(), REG_PATHS)
    rows = (qs.values("community_id", "community__name", "community__path")
            .annotate(members=Count("id", filter=Q(kind="member", state="active")),
                      units=Count("id", filter=Q(kind="unit", state="active")),
                      this_year=Count("id", filter=Q(registered_at__gte=start, registered_at__lt=end)),
                      ended=Count("id", filter=Q(state="ended")))
            .order_by("community__path"))
    return [{"community_id": r["community_id"], "community": r["community__name"], "members": r["members"],
             "units": r["units"], "this_year": r["this_year"], "ended": r["ended"]} for r in rows]


# --- 党员先锋岗 -------------------------------------------------------------------------------


def _post(post_id, lock=False) -> VanguardPost:
    qs = VanguardPost.objects.select_related("node", "party_org")
    if lock:
        qs = qs.select_for_update(of=("self",))
    post = qs.filter(pk=post_id).first()
    if post is None:
        raise NotFound(_("没有这个先锋岗"))
    return post


def create_post(actor, *, name: str, node, description: str = "", party_org=None, now=None) -> VanguardPost:
    """Staff create a vanguard post on a grid of their scope (party × update on the grid)."""
    _signed_in(actor)
    from gridgov.geo.models import GridNode

    now = now or timezone.now()
    if not isinstance(node, GridNode):
        node = GridNode.objects.filter(code=str(node)).first()
    if node is None or node.level < gl.community_level():
        raise PartyError(_("请选择先锋岗所在的网格"), code="node")
    if not policy.allows(actor, "party", "update", node.path):
        raise NotAllowed(_("只能在自己负责的网格设岗"))
    name = (name or "").strip()[:100]
    if not name:
        raise PartyError(_("请填写岗位名称"), code="name")
    with transaction.atomic():
        post = VanguardPost.objects.create(name=name, description=(description or "").strip()[:200], node=node,
                                           party_org=_as_org(party_org), created_at=now)
        history.record(actor, "party", post, "create_post",
                       {"name": [None, name], "node": [None, node.name]}, grid_path=node.path, at=now)
    return post


def close_post(actor, post_id, *, now=None) -> VanguardPost:
    """Staff close a post: its holders' duties end."""
    _signed_in(actor)
    now = now or timezone.now()
    with transaction.atomic():
        post = _post(post_id, lock=True)
        if not policy.allows(actor, "party", "update", post.node.path):
            raise NotAllowed(_("只能管理自己负责网格的先锋岗"))
        if not post.active:
            raise Conflict(_("该先锋岗已撤销"), code="closed")
        post.active = False
        post.save(update_fields=["active"])
        holders = list(VanguardDuty.objects.filter(post=post, until__isnull=True).select_related("user"))
        VanguardDuty.objects.filter(pk__in=[d.pk for d in holders]).update(until=now)
        history.record(actor, "party", post, "close_post", {"active": [True, False]}, grid_path=post.node.path, at=now)
        for d in holders:
            _notify(d.user, f"先锋岗“{post.name}”已撤销")
    return post


def _member_registration(user, post) -> PartyRegistration | None:
    """The user's active member registration with the community of the post's grid."""
    return (PartyRegistration.objects.filter(kind=PartyRegistration.Kind.MEMBER, user=user,
                                             state=PartyRegistration.State.ACTIVE)
            .select_related("community")
            .filter(community__path__in=_path_prefixes(post.node.path)).first())


def _path_prefixes(path: str) -> list[str]:
    codes = [c for c in path.strip("/").split("/") if c]
    return ["/" + "/".join(codes[:i]) + "/" for i in range(1, len(codes) + 1)]


def _start_duty(actor, post, member, now, action):
    if not post.active:
        raise Conflict(_("该先锋岗已撤销"), code="closed")
    if _member_registration(member, post) is None:
        raise PartyError(_("只有已到本社区报到的党员可以认领先锋岗"), code="not_registered")
    try:
        with transaction.atomic():
            duty = VanguardDuty.objects.create(post=post, user=member, since=now)
    except IntegrityError:
        raise Conflict(_("已在此先锋岗上岗"), code="holding") from None
    history.record(actor, "party", post, action, {"holder": [None, _name(member)]}, grid_path=post.node.path, at=now)
    return duty


def take_post(user, post_id, *, now=None) -> VanguardDuty:
    """A member registered with the post's community takes the post (认岗)."""
    _signed_in(user)
    now = now or timezone.now()
    with transaction.atomic():
        post = _post(post_id, lock=True)
        return _start_duty(user, post, user, now, "take_post")


def assign_post(actor, post_id, member, *, now=None) -> VanguardDuty:
    """Staff assign a registered member to a post (party × update on its grid); they are told."""
    _signed_in(actor)
    from gridgov.accounts.models import User

    now = now or timezone.now()
    if not isinstance(member, User):
        member = User.objects.filter(pk=member, is_active=True).first()
        if member is None:
            raise NotFound(_("没有这个党员"))
    with transaction.atomic():
        post = _post(post_id, lock=True)
        if not policy.allows(actor, "party", "update", post.node.path):
            raise NotAllowed(_("只能管理自己负责网格的先锋岗"))
        duty = _start_duty(actor, post, member, now, "assign_post")
        if member.pk != actor.pk:
            _notify(member, f"您已被安排到党员先锋岗“{post.name}”", post.node.name)
    return duty


def leave_post(actor, post_id, *, member=None, now=None) -> VanguardDuty:
    """The holder leaves the post; staff (party × update on its grid) may release a holder."""
    _signed_in(actor)
    now = now or timezone.now()
    member_id = getattr(member, "pk", member) or actor.pk
    with transaction.atomic():
        post = _post(post_id, lock=True)
        if member_id != actor.pk and not policy.allows(actor, "party", "update", post.node.path):
            raise NotAllowed(_("只能管理自己负责网格的先锋岗"))
        duty = VanguardDuty.objects.select_related("user").filter(post=post, user_id=member_id, until__isnull=True).first()
        if duty is None:
            raise Conflict(_("不在此先锋岗上"), code="not_holding")
        VanguardDuty.objects.filter(pk=duty.pk, until__isnull=True).update(until=now)
        duty.until = now
        history.record(actor, "party", post, "leave_post", {"holder": [_name(duty.user), None]},
                       grid_path=post.node.path, at=now)
        if member_id != actor.pk:
            _notify(duty.user, f"您已离开党员先锋岗“{post.name}”")
    return duty


def posts_for_member(user):
    """The active posts in the communities `user` is registered with (their duties marked)."""
    paths = list(PartyRegistration.objects.filter(kind=PartyRegistration.Kind.MEMBER, user=user,
                                                  state=PartyRegistration.State.ACTIVE)
                 .values_list("community__path", flat=True))
    if not paths:
        return VanguardPost.objects.none()
    q = Q(pk__in=[])
    for p in paths:
        q |= Q(node__path__startswith=p)
    return VanguardPost.objects.filter(q, active=True).select_related("node", "party_org").order_by("node__path", "id")


def posts_in_scope(user, *, active=True):
    qs = _scoped(user, VanguardPost.objects.select_related("node", "party_org"), "node__path")
    if active is not None:
        qs = qs.filter(active=active)
    return qs.order_by("node__path", "id")


def holders(posts) -> dict:
    """{post id: [duty in force, ...]} for `posts` (one query)."""
    out: dict = {}
    for d in (VanguardDuty.objects.filter(post__in=[p.pk for p in posts], until__isnull=True)
              .select_related("user").order_by("since", "id")):
        out.setdefault(d.post_id, []).append(d)
    return out


# --- 实事 -------------------------------------------------------------------------------------


def _year_bounds(year: int):
    tz = timezone.get_current_timezone()
    return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)


def expected() -> int:
    return conf.get_int("VOLUNTEERS_PARTY_DEEDS_EXPECTED")


def deed_counts(user_filter: Q, year: int) -> dict:
    """{user id: number of 实事 in `year`} for the users `user_filter` (on ServiceRecord) selects:
    one aggregate query."""
    start, end = _year_bounds(year)
    rows = (ServiceRecord.objects.filter(user_filter, source__in=DEED_SOURCES, at__gte=start, at__lt=end)
            .values("user_id").annotate(n=Count("id")).order_by())
    return {r["user_id"]: r["n"] for r in rows}


def my_deeds(user, year: int | None = None) -> dict:
    year = year or timezone.localdate().year
    start, end = _year_bounds(year)
    records = list(ServiceRecord.objects.filter(user=user, source__in=DEED_SOURCES, at__gte=start, at__lt=end)
                   .select_related("node").order_by("-at", "-id"))
    want = expected()
    return {"year": year, "count": len(records), "expected": want, "met": len(records) >= want,
            "records": records, "percent": min(100, int(100 * len(records) / want)) if want else 100}


@dataclass
class DeedsTable:
    year: int
    expected: int
    members: list = field(default_factory=list)
    communities: list = field(default_factory=list)
    branches: list = field(default_factory=list)

    @property
    def total(self):
        return len(self.members)

    @property
    def met(self):
        return sum(1 for m in self.members if m["met"])


def _table(regs, year: int, unregistered=()) -> DeedsTable:
    """Rows per member from their registrations (one row per user, the earliest community
    first), counts from one aggregate; then per community and per branch."""
    want = expected()
    table = DeedsTable(year=year, expected=want)
    seen = {}
    for r in regs:
        if r.user_id is None or r.user_id in seen:
            continue
        seen[r.user_id] = {"user_id": r.user_id, "name": r.name, "registered": True, "registration_id": r.pk,
                           "community_id": r.community_id, "community": r.community.name,
                           "party_org_id": r.party_org_id, "party_org": r.party_org.name if r.party_org_id else "",
                           "unit_name": r.unit_name, "show_identity": r.show_identity}
    for u in unregistered:
        if u["user_id"] not in seen:
            seen[u["user_id"]] = {**u, "registered": False, "registration_id": None, "show_identity": False}
    if not seen:
        return table
    counts = deed_counts(Q(user_id__in=list(seen)), year)
    by_c: dict = {}
    by_b: dict = {}
    for m in seen.values():
        m["count"] = counts.get(m["user_id"], 0)
        m["expected"] = want
        m["met"] = m["count"] >= want
        table.members.append(m)
        for key, bucket, label in ((m["community_id"], by_c, m["community"]), (m["party_org_id"], by_b, m["party_org"])):
            if key is None:
                continue
            row = bucket.setdefault(key, {"id": key, "name": label, "members": 0, "met": 0, "deeds": 0})
            row["members"] += 1
            row["met"] += int(m["met"])
            row["deeds"] += m["count"]
    table.members.sort(key=lambda m: (m["community"], m["met"], -m["count"], m["name"]))
    table.communities = sorted(by_c.values(), key=lambda r: r["name"])
    table.branches = sorted(by_b.values(), key=lambda r: r["name"])
    return table


def _active_in(year):
    start, _end = _year_bounds(year)
    return Q(state=PartyRegistration.State.ACTIVE) | Q(ended_at__gte=start)


def deeds_table(user, year: int | None = None, *, community=None, party_org=None,
                include_unregistered: bool = True) -> DeedsTable:
    """Each member's 实事 of the year against the expected, for the staff (party × list, the
    registrations of communities in scope; with `include_unregistered`, also the party-member
    residents in scope who have an account but have not registered)."""
    year = year or timezone.localdate().year
    regs = _scoped(user, PartyRegistration.objects.filter(kind=PartyRegistration.Kind.MEMBER), REG_PATHS)
    regs = regs.filter(_active_in(year))
    if community:
        regs = regs.filter(community=_as_community(community))
    if party_org:
        regs = regs.filter(party_org=_as_org(party_org))
    regs = regs.select_related("community", "party_org").order_by("state", "registered_at", "id")
    extra = []
    if include_unregistered and not party_org:
        extra = _unregistered_members(user, community)
    return _table(regs, year, extra)


def _unregistered_members(user, community=None) -> list[dict]:
    """Party-member residents in the staff's scope with an account (their volunteer record's
    user) and no active registration."""
    from gridgov.registry.models import Volunteer

    qs = _scoped(user, Volunteer.objects.filter(user__isnull=False, resident__party_member=True,
                                                resident__ended_on__isnull=True, resident__grid__isnull=False),
                 "resident__grid__path")
    if community:
        qs = qs.filter(resident__grid__path__startswith=_as_community(community).path)
    qs = qs.exclude(user_id__in=PartyRegistration.objects.filter(
        kind=PartyRegistration.Kind.MEMBER, state=PartyRegistration.State.ACTIVE, user__isnull=False).values("user_id"))
    rows = list(qs.values("user_id", "resident__name", "resident__grid__path", "resident__party_org_id",
                          "resident__party_org__name")[:5000])
    from gridgov.geo.models import GridNode

    codes = {r["resident__grid__path"].strip("/").split("/")[1] for r in rows if r["resident__grid__path"].count("/") > 2}
    by_code = {n.code: n for n in GridNode.objects.filter(code__in=codes, level=gl.community_level())}
    out = []
    for r in rows:
        parts = r["resident__grid__path"].strip("/").split("/")
        c = by_code.get(parts[1]) if len(parts) > 1 else None
        if c is None:
            continue
        out.append({"user_id": r["user_id"], "name": r["resident__name"], "community_id": c.pk, "community": c.name,
                    "party_org_id": r["resident__party_org_id"], "party_org": r["resident__party_org__name"] or "",
                    "unit_name": ""})
    return out


def branches_led(user):
    """The party organizations whose secretary `user` is."""
    from gridgov.registry.models import PartyOrganization

    if not getattr(user, "pk", None):
        return PartyOrganization.objects.none()
    return PartyOrganization.objects.filter(secretary=user, ended_on__isnull=True).order_by("name")


def may_see_branch(user, org) -> bool:
    """The branch's secretary (a relation), or staff who list party life on the branch's grid."""
    if org.secretary_id and org.secretary_id == getattr(user, "pk", None):
        return True
    return bool(org.grid_id) and policy.allows(user, "party", "list", org.grid.path)


def branch_deeds(user, org, year: int | None = None) -> DeedsTable:
    """The members of one branch (registrations naming it) and their 实事 of the year: for its
    secretary, or staff in scope."""
    _signed_in(user)
    org = _as_org(org)
    if not may_see_branch(user, org):
        raise NotAllowed(_("只有本支部书记或所在社区工作人员可以查看"))
    year = year or timezone.localdate().year
    regs = (PartyRegistration.objects.filter(kind=PartyRegistration.Kind.MEMBER, party_org=org)
            .filter(_active_in(year)).select_related("community", "party_org").order_by("state", "registered_at", "id"))
    return _table(regs, year)


def branch_service(org, year: int, limit: int = 100):
    """The latest 实事 of the branch's registered members in the year."""
    start, end = _year_bounds(year)
    users = PartyRegistration.objects.filter(kind=PartyRegistration.Kind.MEMBER, party_org=org).values("user_id")
    return (ServiceRecord.objects.filter(user_id__in=users, source__in=DEED_SOURCES, at__gte=start, at__lt=end)
            .select_related("user", "node").order_by("-at", "-id")[:limit])


#: (for the pages: a community from a code or id, or PartyError)
as_community = _as_community
