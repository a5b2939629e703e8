"""API of the wish wall (微心愿), at /api/volunteers/wishes. Signed-in users only (the wall is
a page of the phone app; anonymous requests answer 401). Views validate and call
gridgov.volunteers.wishes; errors answer {"detail": the Chinese message, "code": a stable code}
with 400 / 403 / 404 / 409.

* GET ""                 the wall: public cards of open and claimed wishes (?community=&group=);
  with ?scope=staff the wishes of the grids in scope (wishes × list; ?state=), with whose wish
  it is only where the user has wishes × personal on its grid
* GET /mine              the wishes I posted (or entered for a resident) and those I claimed
* POST ""                post a wish: for myself (title, description, group, lon/lat when my
  account is not linked to the registry) or, with `resident`, for a resident (wishes × create)
* GET /{id}              one wish's card (plus my relation and the acts open to me)
* GET /{id}/person       whose wish it is and how to reach them (owner, poster, the claimer
  while claimed, staff with wishes × personal); audited
* POST /{id}/claim       {kind: party_member|volunteer|unit, unit}: 200, 409 when already claimed
* POST /{id}/release, /fulfil (multipart: note, photo), /confirm, /reject {reason}, /cancel {reason}
* GET /{id}/photo        the fulfilment photo (owner, poster, claimer, staff in scope)"""

from django.http import FileResponse
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile

from gridgov.accounts import policy

from . import wishes
from .models import Wish

from ninja.responses import Status

from gridgov.core.errors import api_call

router = Router(tags=["volunteers"])
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}



def detail_out(wish: Wish, user, names=None) -> dict:
    """The card, with what the user's relation to the wish adds (never the person: see /person)."""
    out = wishes.card(wish, names)
    out.update({
        "mine": wishes.is_owner(user, wish) or wishes.is_poster(user, wish),
        "claimed_by_me": wish.claimed_by_id == user.pk,
        "may_claim": wishes.may_claim(user, wish),
        "may_confirm": wish.state == Wish.State.FULFILLED and wishes.may_confirm(user, wish),
        "may_cancel": wish.state in (Wish.State.OPEN, Wish.State.CLAIMED) and wishes.may_cancel(user, wish),
        "may_see_person": wishes.may_see_person(user, wish),
    })
    if out["mine"] or wishes.is_claimer(user, wish) or policy.allows(user, "wishes", "list", wish.node.path):
        out.update({
            "claimed_at": wish.claimed_at.isoformat() if wish.claimed_at else None,
            "fulfilled_at": wish.fulfilled_at.isoformat() if wish.fulfilled_at else None,
            "fulfil_note": wish.fulfil_note, "has_photo": bool(wish.photo),
            "cancel_reason": wish.cancel_reason,
        })
    return out


def staff_out(wish: Wish, user, names=None) -> dict:
    out = wishes.card(wish, names)
    out.update({"entered_by": wishes._name(wish.entered_by), "self_posted": bool(wish.owner_id),
                "claimed_at": wish.claimed_at.isoformat() if wish.claimed_at else None,
                "fulfilled_at": wish.fulfilled_at.isoformat() if wish.fulfilled_at else None,
                "has_photo": bool(wish.photo)})
    if policy.allows(user, "wishes", "personal", wish.node.path):
        out.update({"person_name": wish.person_name, "resident": wish.resident_id, "address": wishes._address(wish)})
    return out


@router.get("", response={200: dict, 403: dict})
def wall(request, scope: str = "", community: str = "", group: str = "", state: str = "", limit: int = 200):
    """The wall (public cards), or with scope=staff the staff's list of the grids in scope."""
    limit = max(1, min(limit, 500))
    if scope == "staff":
        if not policy.allows(request.user, "wishes", "list"):
            return Status(403, {"detail": "not allowed: list wishes", "code": "not_allowed"})
        qs = wishes.staff_wishes(request.user)
        if community:
            qs = qs.filter(pk__in=wishes.wall(request.user, community=community, states=Wish.State.values))
        if group:
            qs = qs.filter(group=group)
        counts = wishes.counts(qs)
        if state:
            qs = qs.filter(state=state)
        names = wishes.community_names()
        return {"counts": counts, "items": [staff_out(w, request.user, names) for w in qs[:limit]]}
    qs = wishes.wall(request.user, community=community, group=group)
    names = wishes.community_names()
    return {"items": [wishes.card(w, names) for w in qs[:limit]]}


@router.get("/mine", response=dict)
def mine(request):
    """The wishes I posted (myself or for residents) and those I claimed."""
    names = wishes.community_names()
    return {"posted": [detail_out(w, request.user, names) for w in wishes.posted_by(request.user)[:200]],
            "claimed": [detail_out(w, request.user, names) for w in wishes.claimed_by(request.user)[:200]]}


class WishIn(Schema):
    title: str
    description: str = ""
    group: str = ""
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    resident: int | None = None


@router.post("", response={201: dict, **ERRORS})
def post(request, data: WishIn):
    """Post a wish: for myself, or with `resident` for a resident of the registry (grid workers)."""
    if data.resident is not None:
        wish, err = api_call(wishes.post_for, request.user, data.resident, data.title, data.description, data.group)
    else:
        wish, err = api_call(wishes.post_own, request.user, data.title, data.description, data.group,
                          lon=data.lon, lat=data.lat, crs=data.crs)
    if err:
        return err
    return Status(201, detail_out(wish, request.user))


@router.get("/{wish_id}", response={200: dict, **ERRORS})
def detail(request, wish_id: int):
    wish, err = api_call(wishes.get, wish_id)
    if err:
        return err
    return detail_out(wish, request.user)


@router.get("/{wish_id}/person", response={200: dict, **ERRORS})
def person(request, wish_id: int):
    """Whose wish it is (name, address, a contact): audited when read by the claimer or staff."""
    wish, err = api_call(wishes.get, wish_id)
    if err:
        return err
    out, err = api_call(wishes.person, request.user, wish)
    return err or out


class ClaimIn(Schema):
    kind: str = Wish.Claimer.VOLUNTEER
    unit: str = ""


@router.post("/{wish_id}/claim", response={200: dict, **ERRORS})
def claim(request, wish_id: int, data: ClaimIn):
    """Claim an open wish; 409 when someone else was first."""
    wish, err = api_call(wishes.claim, request.user, wish_id, data.kind, data.unit)
    return err or detail_out(wish, request.user)


class ReasonIn(Schema):
    reason: str = ""


@router.post("/{wish_id}/release", response={200: dict, **ERRORS})
def release(request, wish_id: int, data: ReasonIn = None):
    wish, err = api_call(wishes.release, request.user, wish_id, data.reason if data else "")
    return err or detail_out(wish, request.user)


class FulfilIn(Schema):
    note: str = ""


@router.post("/{wish_id}/fulfil", response={200: dict, **ERRORS})
def fulfil(request, wish_id: int, data: Form[FulfilIn], photo: File[UploadedFile] = None):
    """The claimer: multipart with `note` and `photo` (required)."""
    wish, err = api_call(wishes.fulfil, request.user, wish_id, photo.read() if photo else None, data.note)
    return err or detail_out(wish, request.user)


@router.post("/{wish_id}/confirm", response={200: dict, **ERRORS})
def confirm(request, wish_id: int):
    wish, err = api_call(wishes.confirm, request.user, wish_id)
    return err or detail_out(wish, request.user)


@router.post("/{wish_id}/reject", response={200: dict, **ERRORS})
def reject(request, wish_id: int, data: ReasonIn):
    wish, err = api_call(wishes.reject, request.user, wish_id, data.reason)
    return err or detail_out(wish, request.user)


@router.post("/{wish_id}/cancel", response={200: dict, **ERRORS})
def cancel(request, wish_id: int, data: ReasonIn = None):
    wish, err = api_call(wishes.cancel, request.user, wish_id, data.reason if data else "")
    return err or detail_out(wish, request.user)


@router.get("/{wish_id}/photo", response={200: None, **ERRORS})
def photo(request, wish_id: int):
    """The fulfilment photo: the owner, the poster, the claimer and staff in scope."""
    wish, err = api_call(wishes.get, wish_id)
    if err:
        return err
    if not wishes.may_see_photo(request.user, wish):
        return Status(403, {"detail": "not allowed", "code": "not_allowed"})
    if not wish.photo:
        return Status(404, {"detail": "没有照片", "code": "not_found"})
    return FileResponse(wish.photo.open("rb"), content_type=wish.photo_type or "image/jpeg")
