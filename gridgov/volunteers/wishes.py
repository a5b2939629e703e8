"""The wish wall (微心愿): a resident, above all of the five special groups (老弱病残孕), or a grid
worker for them, posts a small wish; a party member, a volunteer or a unit claims it (exactly
one claimer), fulfils it with a photo, and the resident confirms; the claimer's service is then
counted (services.record_service, source "wish", rule "wish").

States (models.Wish): open → claimed → fulfilled → confirmed, or cancelled (from open or
claimed). A claimer may release their claim (claimed → open); a confirmer may send a fulfilment
back (fulfilled → claimed, with a reason). Every state change is one conditional UPDATE or a
row locked with SELECT ... FOR UPDATE, one history row (kind "wishes") and the notifications of
the person who should know, in one transaction.

Who may do what (the access table's kind `wishes` and the relations checked here):

* post: anyone signed in for themselves (the owner); a grid worker for a resident of the
  registry on a grid in scope (wishes × create);
* claim: anyone signed in but the owner and the worker who posted it; release and fulfil: the
  claimer;
* confirm and send back: the owner; for a wish posted by a worker (no owner), that worker or
  staff with wishes × update on its grid, on the resident's behalf; never the claimer (nobody
  confirms their own service);
* cancel: the owner, the worker who posted it, or staff with wishes × update on its grid;
* whose wish it is (name, address, contact): staff with wishes × personal on its grid, the
  owner and the worker who posted it, and the claimer while their claim stands (they need to
  know whom to visit); a read by the claimer or by staff is audited (core.audit, "reveal").

The public card (`card`) never holds the person: no name, resident, house or owner.

The sensitive-word filter of reports (cases.moderation) checks the title and the description:
a wish with a listed word is refused with a clear message (nothing is held for release)."""

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.geo import levels as gl
from gridgov.accounts import policy
from gridgov.accounts.querysets import within_reach
from gridgov.core import audit, history
from gridgov.core.errors import CodedError

from . import services
from .models import PointRule, ServiceRecord, Wish
from .services import person_name as _name

KIND = "wishes"
#: the states a wish shows on the public wall
WALL_STATES = (Wish.State.OPEN, Wish.State.CLAIMED)
#: the award rule of a confirmed wish (seeded lazily by `confirm` when missing)
RULE_KEY = "wish"
#: a resident has at most this many wishes of their own under way (open, claimed, fulfilled):
#: a small wish is one at a time, and the wall is not a place to flood
MAX_OWN_UNDER_WAY = 3


class WishError(CodedError):
    status = 400


class NotFound(WishError):
    status = 404
    code = "not_found"


class Forbidden(WishError):
    status = 403
    code = "not_allowed"


class Conflict(WishError):
    status = 409
    code = "conflict"


# --- who is who ------------------------------------------------------------------------------


def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def is_owner(user, wish) -> bool:
    return _signed_in(user) and wish.owner_id == user.pk


def is_claimer(user, wish) -> bool:
    return _signed_in(user) and wish.claimed_by_id == user.pk and wish.state in (
        Wish.State.CLAIMED, Wish.State.FULFILLED, Wish.State.CONFIRMED)


def is_poster(user, wish) -> bool:
    """The grid worker who posted it for a resident."""
    return _signed_in(user) and wish.owner_id is None and wish.entered_by_id == user.pk


def may_claim(user, wish) -> bool:
    """Anyone signed in but the owner and the worker who posted it, while the wish is open."""
    return (_signed_in(user) and wish.state == Wish.State.OPEN and wish.owner_id != user.pk
            and not is_poster(user, wish))


def may_confirm(user, wish) -> bool:
    """The owner; for a wish posted by a worker, that worker or staff with wishes × update on its
    grid. Never the claimer: nobody confirms their own service."""
    if _signed_in(user) and wish.claimed_by_id == user.pk:
        return False
    if wish.owner_id:
        return is_owner(user, wish)
    return is_poster(user, wish) or policy.allows(user, KIND, "update", wish.node.path)


def may_cancel(user, wish) -> bool:
    return is_owner(user, wish) or is_poster(user, wish) or policy.allows(user, KIND, "update", wish.node.path)


def may_see_person(user, wish) -> bool:
    if is_owner(user, wish) or is_poster(user, wish):
        return True
    if policy.allows(user, KIND, "personal", wish.node.path):
        return True
    return _signed_in(user) and wish.claimed_by_id == user.pk and wish.state in (Wish.State.CLAIMED, Wish.State.FULFILLED)


def may_see_photo(user, wish) -> bool:
    return (is_owner(user, wish) or is_poster(user, wish) or is_claimer(user, wish)
            or policy.allows(user, KIND, "list", wish.node.path))


# --- reading ---------------------------------------------------------------------------------


def _community(node):
    return services._community(node)


def group_label(group: str) -> str:
    from gridgov.registry.models import Resident

    return str(_(Resident.TAGS[group])) if group in Resident.TAGS else ""


def claimer_label(wish) -> str:
    if not wish.claimed_by_id and not wish.claimer_unit:
        return ""
    if wish.claimer_kind == Wish.Claimer.UNIT and wish.claimer_unit:
        return wish.claimer_unit
    return _name(wish.claimed_by)


def community_names() -> dict:
    """{code: name} of the communities (level 1), for cards in a list (one query for all)."""
    from gridgov.geo.models import GridNode

    return dict(GridNode.objects.filter(level=gl.community_level()).values_list("code", "name"))


def _community_name(node, names=None) -> str:
    if names is not None:
        codes = [c for c in node.path.strip("/").split("/") if c]
        k = gl.community_level()
        if node.level == k:
            return node.name
        if len(codes) > k and codes[k] in names:
            return names[codes[k]]
    community = _community(node)
    return community.name if community else ""


def card(wish, names=None) -> dict:
    """The public card: what anyone signed in sees. Never the person (name, resident, house, owner).
    `names`: community_names(), when cards of many wishes are made."""
    return {
        "id": wish.pk, "title": wish.title, "description": wish.description, "group": wish.group,
        "group_label": group_label(wish.group), "grid": wish.node.name,
        "community": _community_name(wish.node, names), "state": wish.state,
        "state_label": str(wish.get_state_display()), "created_at": wish.created_at.isoformat(),
        "claimer_kind": wish.claimer_kind, "claimer": claimer_label(wish),
        "confirmed_at": wish.confirmed_at.isoformat() if wish.confirmed_at else None,
    }


def wall(user, *, community: str = "", group: str = "", states=WALL_STATES):
    """The wishes on the wall: open and claimed, newest first, filtered by community (code or
    id) and group."""
    qs = Wish.objects.filter(state__in=states).select_related("node", "claimed_by")
    if community:
        from gridgov.geo.models import GridNode

        node = GridNode.objects.filter(Q(code=community) | Q(pk=int(community) if community.isdigit() else -1)).first()
        qs = qs.filter(node__path__startswith=node.path) if node else qs.none()
    if group:
        qs = qs.filter(group=group)
    return qs


def posted_by(user):
    """The wishes `user` posted: their own, and those they entered for residents."""
    return Wish.objects.filter(Q(owner=user) | Q(entered_by=user)).select_related("node", "claimed_by")


def claimed_by(user):
    return Wish.objects.filter(claimed_by=user).exclude(state=Wish.State.CANCELLED).select_related("node", "claimed_by")


def staff_wishes(user):
    """The wishes of the grids in the user's scope (wishes × list)."""
    return within_reach(Wish.objects.select_related("node", "claimed_by", "entered_by", "resident__house__address"),
                        user, KIND, "list", "node__path")


def get(wish_id) -> Wish:
    wish = Wish.objects.select_related("node", "claimed_by", "owner", "entered_by").filter(pk=wish_id).first()
    if wish is None:
        raise NotFound(_("没有这个心愿"))
    return wish


def _address(wish) -> str:
    """The registry resident's house address ("" when unknown)."""
    if not wish.resident_id:
        return ""
    if "resident" in wish._state.fields_cache:  # loaded with its house (staff_wishes)
        r = wish.resident
        return r.house.address.text if r is not None and r.house_id else ""
    from gridgov.registry.models import House

    house = House.objects.filter(residents__pk=wish.resident_id).select_related("address").first()
    return house.address.text if house else ""


def _phone(user) -> str:
    if user is None or not getattr(user, "phone_enc", ""):
        return ""
    from gridgov.core.crypto import decrypt

    return decrypt(user.phone_enc)


def person(user, wish) -> dict:
    """Whose wish it is and how to reach them, for those who may know (`may_see_person`): the
    name, the address (the registry resident's house) and a contact: the owner's own phone for a
    wish they posted, the grid worker's for a wish posted for a resident. A read by anyone but
    the owner or the worker who posted it is audited."""
    if not may_see_person(user, wish):
        raise Forbidden(_("无权查看心愿人信息"))
    contact = wish.owner if wish.owner_id else wish.entered_by
    out = {"name": wish.person_name or _name(wish.owner), "address": _address(wish),
           "resident": wish.resident_id, "contact_name": _name(contact), "contact_phone": _phone(contact),
           "contact_is_worker": not wish.owner_id}
    if not (is_owner(user, wish) or is_poster(user, wish)):
        audit.record(user, "reveal", wish, fields="person_name,address,contact_phone",
                     detail="claimer" if wish.claimed_by_id == user.pk else "staff")
    return out


# --- posting ---------------------------------------------------------------------------------


def _clean_text(title: str, description: str, group: str):
    from gridgov.cases.moderation import find_words
    from gridgov.registry.models import Resident

    title, description = (title or "").strip(), (description or "").strip()
    if not title:
        raise WishError(_("请填写心愿"), code="title")
    if len(title) > 60:
        raise WishError(_("心愿标题最多 60 个字"), code="title")
    if len(description) > 300:
        raise WishError(_("心愿说明最多 300 个字"), code="description")
    if group and group not in Resident.SPECIAL_CARE:
        raise WishError(_("没有这个群体：%(group)s"), code="group", group=group)
    if find_words(title, description):
        raise WishError(_("心愿含有不文明或违规用语，请修改后再发布"), code="sensitive")
    return title, description, group


def registry_resident_of(user):
    """The registry resident behind an account: the one whose phone is the account's (blind
    index), still living here; None when there is none or more than one."""
    from gridgov.registry.models import Resident

    if not getattr(user, "phone_hash", ""):
        return None
    found = list(Resident.objects.filter(phone_hash=user.phone_hash, ended_on__isnull=True)
                 .select_related("grid", "house")[:2])
    return found[0] if len(found) == 1 else None


def _grid_at(lon, lat, crs="wgs84"):
    from gridgov.geo.locator import locate_point
    from gridgov.geo.models import GridNode

    try:
        chain = locate_point(float(lon), float(lat), crs if crs in ("wgs84", "gcj02", "bd09") else "wgs84")
    except (TypeError, ValueError):
        return None
    return GridNode.objects.filter(pk=chain[-1].id).first() if chain else None


def _create(actor, wish: Wish, now) -> Wish:
    wish.created_at = now
    wish.entered_by = actor
    wish.save()
    history.record(actor, KIND, wish, "create",
                   {"title": [None, wish.title], "group": [None, wish.group], "state": [None, wish.state],
                    "node": [None, wish.node.code]}, grid_path=wish.node.path, at=now)
    return wish


@transaction.atomic
def post_own(user, title: str, description: str = "", group: str = "", *, lon=None, lat=None, crs="wgs84",
             now=None) -> Wish:
    """A resident posts their own wish. Its grid is their registry resident's (matched by the
    account's phone) if any, else the grid at the point they give."""
    if not _signed_in(user):
        raise Forbidden(_("请先登录"))
    title, description, group = _clean_text(title, description, group)
    now = now or timezone.now()
    under_way = Wish.objects.filter(owner=user, state__in=[Wish.State.OPEN, Wish.State.CLAIMED, Wish.State.FULFILLED])
    if under_way.count() >= MAX_OWN_UNDER_WAY:
        raise WishError(_("您已有 %(n)s 个心愿尚未圆梦，请等圆梦后再发布"), code="too_many", n=MAX_OWN_UNDER_WAY)
    resident = registry_resident_of(user)
    node = resident.grid if resident is not None and resident.grid_id else None
    if node is None and lon not in (None, "") and lat not in (None, ""):
        node = _grid_at(lon, lat, crs)
    if node is None:
        raise WishError(_("请在地图上选择您的位置（需在本街道的网格内）"), code="location")
    if not group and resident is not None and resident.special_care:
        group = resident.special_care[0]
    wish = Wish(title=title, description=description, group=group, node=node, resident=resident,
                person_name=_name(user)[:50], owner=user)
    return _create(user, wish, now)


@transaction.atomic
def post_for(worker, resident_id, title: str, description: str = "", group: str = "", *, now=None) -> Wish:
    """A grid worker posts a wish for a resident of the registry on a grid in their scope
    (wishes × create there)."""
    from gridgov.registry.models import Resident

    if not policy.allows(worker, KIND, "create"):
        raise Forbidden(_("无权代居民发布心愿"))
    try:
        resident = Resident.objects.select_related("grid").filter(pk=int(resident_id), ended_on__isnull=True).first()
    except (TypeError, ValueError):
        resident = None
    if resident is None or resident.grid_id is None:
        raise NotFound(_("没有这位居民"))
    if not policy.allows(worker, KIND, "create", resident.grid.path):
        raise Forbidden(_("这位居民不在您负责的网格内"))
    title, description, group = _clean_text(title, description, group)
    if not group and resident.special_care:
        group = resident.special_care[0]
    wish = Wish(title=title, description=description, group=group, node=resident.grid, resident=resident,
                person_name=resident.name[:50])
    return _create(worker, wish, now or timezone.now())


# --- the life of a wish ----------------------------------------------------------------------


def _notify(user, kind, message, body="", **params):
    """Queue a notification (delivered on commit), written in the source language (Chinese)."""
    if user is None:
        return
    from django.utils import translation

    from gridgov.cases import notify

    with translation.override(None):
        notify.queue(user, kind, str(message) % params if params else str(message), str(body))


def _resident_side(wish):
    """Who hears about a wish on the resident's side: the owner, else the worker who posted it."""
    return wish.owner if wish.owner_id else wish.entered_by


def _locked(wish_id) -> Wish:
    """The wish's row, locked until the transaction ends (with its grid and people)."""
    wish = (Wish.objects.select_for_update(of=("self",)).select_related("node", "owner", "entered_by", "claimed_by")
            .filter(pk=wish_id).first())
    if wish is None:
        raise NotFound(_("没有这个心愿"))
    return wish


def _state_error(wish):
    return Conflict(_("心愿当前状态为“%(state)s”，不能这样操作"), code="state", state=wish.get_state_display())


@transaction.atomic
def claim(user, wish_id, kind: str = Wish.Claimer.VOLUNTEER, unit: str = "", *, now=None, notify: bool = True) -> Wish:
    """Claim an open wish: exactly one claimer (UPDATE ... WHERE state = 'open'); the loser of
    a race gets Conflict (409)."""
    if not _signed_in(user):
        raise Forbidden(_("请先登录"))
    wish = get(wish_id)
    if wish.owner_id == user.pk or (wish.owner_id is None and wish.entered_by_id == user.pk):
        raise Forbidden(_("不能认领自己的心愿"))
    if kind not in Wish.Claimer.values:
        raise WishError(_("请选择认领身份（党员、志愿者或单位）"), code="claimer_kind")
    unit = (unit or "").strip()
    if kind == Wish.Claimer.UNIT and not unit:
        raise WishError(_("以单位名义认领，请填写单位名称"), code="claimer_unit")
    if len(unit) > 150:
        raise WishError(_("单位名称最多 150 个字"), code="claimer_unit")
    now = now or timezone.now()
    n = Wish.objects.filter(pk=wish.pk, state=Wish.State.OPEN).update(
        state=Wish.State.CLAIMED, claimed_by=user, claimer_kind=kind,
        claimer_unit=unit if kind == Wish.Claimer.UNIT else "", claimed_at=now, version=F("version") + 1)
    if n != 1:
        wish.refresh_from_db()
        if wish.state in (Wish.State.CLAIMED, Wish.State.FULFILLED, Wish.State.CONFIRMED):
            raise Conflict(_("这个心愿已被认领"), code="claimed")
        raise _state_error(wish)
    wish.state, wish.claimed_by, wish.claimer_kind, wish.claimed_at = Wish.State.CLAIMED, user, kind, now
    wish.claimer_unit = unit if kind == Wish.Claimer.UNIT else ""
    wish.version += 1
    history.record(user, KIND, wish, "claim", {"state": ["open", "claimed"], "claimer_kind": [None, kind],
                                               "claimer_unit": [None, wish.claimer_unit or None]},
                   grid_path=wish.node.path, at=now)
    if notify:
        _notify(_resident_side(wish), "wish_claimed", _("您的心愿“%(title)s”已被认领"),
                f"{claimer_label(wish)}", title=wish.title)
    return wish


@transaction.atomic
def release(user, wish_id, reason: str = "", *, now=None, notify: bool = True) -> Wish:
    """The claimer gives the wish back to the wall (claimed → open)."""
    wish = _locked(wish_id)
    if not _signed_in(user) or wish.claimed_by_id != user.pk:
        raise Forbidden(_("只有认领人可以放弃认领"))
    if wish.state != Wish.State.CLAIMED:
        raise _state_error(wish)
    now = now or timezone.now()
    before = {"state": wish.state, "claimed_by": _name(wish.claimed_by), "claimer_kind": wish.claimer_kind}
    wish.state, wish.claimed_by, wish.claimer_kind, wish.claimer_unit, wish.claimed_at = Wish.State.OPEN, None, "", "", None
    wish.version += 1
    wish.save(update_fields=["state", "claimed_by", "claimer_kind", "claimer_unit", "claimed_at", "version"])
    history.record(user, KIND, wish, "release", history.diff(before, {"state": "open", "claimed_by": "", "claimer_kind": ""}),
                   grid_path=wish.node.path, at=now, note=(reason or "")[:255])
    return wish


@transaction.atomic
def fulfil(user, wish_id, photo: bytes | None, note: str = "", *, now=None,
           notify: bool = True) -> Wish:
    """The claimer marks the wish fulfilled with a photo (checked and stripped of metadata by
    cases.photos.clean_image) and a note (claimed → fulfilled)."""
    from gridgov.cases.photos import PhotoError, clean_image

    wish = _locked(wish_id)
    if not _signed_in(user) or wish.claimed_by_id != user.pk:
        raise Forbidden(_("只有认领人可以提交圆梦"))
    if wish.state != Wish.State.CLAIMED:
        raise _state_error(wish)
    note = (note or "").strip()
    if len(note) > 300:
        raise WishError(_("圆梦说明最多 300 个字"), code="note")
    if not photo:
        raise WishError(_("请上传圆梦照片"), code="photo")
    try:
        data, ctype = clean_image(photo, "photo")
    except PhotoError as exc:
        raise WishError(_("照片无法使用：%(reason)s"), code="photo", reason=str(exc)) from None
    now = now or timezone.now()
    wish.state, wish.fulfilled_at, wish.fulfil_note, wish.photo_type = Wish.State.FULFILLED, now, note, ctype
    wish.photo.save("photo", ContentFile(data), save=False)
    wish.version += 1
    wish.save(update_fields=["state", "fulfilled_at", "fulfil_note", "photo", "photo_type", "version"])
    history.record(user, KIND, wish, "fulfil", {"state": ["claimed", "fulfilled"], "fulfil_note": [None, note]},
                   grid_path=wish.node.path, at=now)
    if notify:
        _notify(_resident_side(wish), "wish_fulfilled", _("您的心愿“%(title)s”已圆梦，请确认"), note, title=wish.title)
    return wish


def _ensure_rule():
    """The award rule "wish" (services.DEFAULT_RULES), made when missing: no data migration adds it."""
    for key, name, unit, points, day, month in services.DEFAULT_RULES:
        if key == RULE_KEY:
            PointRule.objects.get_or_create(key=key, defaults=dict(name=name, unit=unit, points=points,
                                                                  daily_cap=day, monthly_cap=month))


@transaction.atomic
def confirm(user, wish_id, *, now=None, notify: bool = True) -> Wish:
    """The resident (or, for a wish posted by a worker, that worker or staff with wishes × update
    on its grid) confirms the fulfilment: the claimer's service is counted with its points."""
    wish = _locked(wish_id)
    if not may_confirm(user, wish):
        raise Forbidden(_("只有心愿人（或代为发布的网格员）可以确认，认领人不能确认自己的圆梦"))
    if wish.state != Wish.State.FULFILLED:
        raise _state_error(wish)
    now = now or timezone.now()
    wish.state, wish.confirmed_at, wish.confirmed_by = Wish.State.CONFIRMED, now, user
    wish.version += 1
    wish.save(update_fields=["state", "confirmed_at", "confirmed_by", "version"])
    history.record(user, KIND, wish, "confirm", {"state": ["fulfilled", "confirmed"]}, grid_path=wish.node.path, at=now)
    if wish.claimed_by_id:
        _ensure_rule()
        services.record_service(wish.claimed_by, ServiceRecord.Source.WISH, f"wish:{wish.pk}", wish.title,
                                at=now, node=wish.node, rule=RULE_KEY, actor=user)
        if notify:
            _notify(wish.claimed_by, "wish_confirmed", _("心愿“%(title)s”已确认圆梦，感谢您！"), title=wish.title)
    return wish


@transaction.atomic
def reject(user, wish_id, reason: str, *, now=None, notify: bool = True) -> Wish:
    """The confirmer sends the fulfilment back (fulfilled → claimed) with a reason."""
    wish = _locked(wish_id)
    if not may_confirm(user, wish):
        raise Forbidden(_("只有心愿人（或代为发布的网格员）可以退回"))
    if wish.state != Wish.State.FULFILLED:
        raise _state_error(wish)
    reason = (reason or "").strip()
    if not reason:
        raise WishError(_("请填写退回原因"), code="reason")
    now = now or timezone.now()
    wish.state, wish.fulfilled_at = Wish.State.CLAIMED, None
    wish.version += 1
    wish.save(update_fields=["state", "fulfilled_at", "version"])
    history.record(user, KIND, wish, "reject", {"state": ["fulfilled", "claimed"]}, grid_path=wish.node.path,
                   at=now, note=reason[:255])
    if notify:
        _notify(wish.claimed_by, "wish_rejected", _("心愿“%(title)s”的圆梦被退回"), reason, title=wish.title)
    return wish


@transaction.atomic
def cancel(user, wish_id, reason: str = "", *, now=None, notify: bool = True) -> Wish:
    """The owner, the worker who posted it, or staff with wishes × update on its grid withdraw a
    wish that is open or claimed (the claimer is told)."""
    wish = _locked(wish_id)
    if not may_cancel(user, wish):
        raise Forbidden(_("无权撤销这个心愿"))
    if wish.state not in (Wish.State.OPEN, Wish.State.CLAIMED):
        raise _state_error(wish)
    now = now or timezone.now()
    before = wish.state
    wish.state, wish.cancelled_at, wish.cancel_reason = Wish.State.CANCELLED, now, (reason or "").strip()[:200]
    wish.version += 1
    wish.save(update_fields=["state", "cancelled_at", "cancel_reason", "version"])
    history.record(user, KIND, wish, "cancel", {"state": [before, "cancelled"]}, grid_path=wish.node.path, at=now,
                   note=wish.cancel_reason)
    if before == Wish.State.CLAIMED and wish.claimed_by_id and wish.claimed_by_id != user.pk:
        if notify:
            _notify(wish.claimed_by, "wish_cancelled", _("您认领的心愿“%(title)s”已撤销"), wish.cancel_reason,
                    title=wish.title)
    return wish


def counts(qs) -> dict:
    """{state: n} for the wishes of `qs` (every state, zeros included)."""
    from django.db.models import Count

    out = {s: 0 for s in Wish.State.values}
    for row in qs.order_by().values("state").annotate(n=Count("id")):
        out[row["state"]] = row["n"]
    return out
