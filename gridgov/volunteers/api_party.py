"""API of party life (issue 11), at /api/volunteers/party: 双报到 (a member's own registration,
a unit's), the staff's roll, vanguard posts (take, leave, assign) and the 实事 of the year.
Errors answer {"detail": the Chinese message, "code": a stable code}."""

from django.utils import timezone
from ninja import Router, Schema

from . import party
from .models import PartyRegistration, VanguardPost

from ninja.responses import Status

from gridgov.core.errors import api_error as _error

router = Router(tags=["volunteers"])
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}



def _reg_out(r: PartyRegistration) -> dict:
    return {"id": r.pk, "kind": r.kind, "name": r.name, "unit_name": r.unit_name, "state": r.state,
            "community": {"id": r.community_id, "code": r.community.code, "name": r.community.name},
            "grid": r.grid.code if r.grid_id else None,
            "party_org": {"id": r.party_org_id, "name": r.party_org.name} if r.party_org_id else None,
            "show_identity": r.show_identity, "skills": r.skills, "user_id": r.user_id,
            "registered_at": r.registered_at.isoformat(), "ended_at": r.ended_at.isoformat() if r.ended_at else None}


def _post_out(p: VanguardPost, duties=()) -> dict:
    return {"id": p.pk, "name": p.name, "description": p.description, "active": p.active,
            "grid": {"code": p.node.code, "name": p.node.name},
            "party_org": {"id": p.party_org_id, "name": p.party_org.name} if p.party_org_id else None,
            "holders": [{"user_id": d.user_id, "name": party._name(d.user), "since": d.since.isoformat()} for d in duties]}


def _table_out(t: party.DeedsTable) -> dict:
    return {"year": t.year, "expected": t.expected, "members_total": t.total, "members_met": t.met,
            "members": [{k: m[k] for k in ("user_id", "name", "registered", "community", "party_org", "unit_name",
                                           "count", "expected", "met")} for m in t.members],
            "communities": t.communities, "branches": t.branches}


# --- 双报到 -----------------------------------------------------------------------------------


class MemberIn(Schema):
    community: str | None = None  # a community's code (or id); default: where one lives
    unit_name: str = ""
    party_org: int | None = None
    skills: str = ""
    show_identity: bool = True
    name: str = ""


@router.post("/registrations", response={201: dict, **ERRORS})
def register(request, data: MemberIn):
    """A party member registers themselves with the community where they live (双报到)."""
    try:
        reg = party.register_member(request.user, community=data.community, unit_name=data.unit_name,
                                    party_org=data.party_org, skills=data.skills, show_identity=data.show_identity,
                                    name=data.name)
    except Exception as exc:  # noqa: BLE001 - mapped by _error
        return _error(exc)
    return Status(201, _reg_out(reg))


@router.get("/registrations/me", response=dict)
def my_registrations(request):
    """My registrations (active first) and whether I show myself as a party member."""
    return {"registrations": [_reg_out(r) for r in party.my_registrations(request.user)],
            "shows_identity": party.shows_party_identity(request.user)}


class RegistrationPatch(Schema):
    show_identity: bool | None = None
    skills: str | None = None


@router.patch("/registrations/{reg_id}", response={200: dict, **ERRORS})
def update_registration(request, reg_id: int, data: RegistrationPatch):
    """亮身份 on or off, the skills offered: the member, or the community's staff."""
    try:
        reg = party.update_registration(request.user, reg_id, show_identity=data.show_identity, skills=data.skills)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _reg_out(reg)


class EndIn(Schema):
    reason: str = ""


@router.post("/registrations/{reg_id}/end", response={200: dict, **ERRORS})
def end_registration(request, reg_id: int, data: EndIn | None = None):
    """End a registration: the member (or the unit's contact), or the community's staff."""
    try:
        reg = party.end_registration(request.user, reg_id, reason=data.reason if data else "")
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _reg_out(reg)


class UnitIn(Schema):
    community: str
    name: str = ""  # the unit's branch
    unit_name: str
    party_org: int | None = None
    skills: str = ""


@router.post("/units", response={201: dict, **ERRORS})
def register_unit(request, data: UnitIn):
    """An in-service unit's branch registers with the community (its contact, or community staff)."""
    try:
        reg = party.register_unit(request.user, community=data.community, name=data.name, unit_name=data.unit_name,
                                  party_org=data.party_org, skills=data.skills)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return Status(201, _reg_out(reg))


@router.get("/roll", response={200: dict, **ERRORS})
def roll(request, community: str = "", kind: str = "", state: str = "active", year: int | None = None,
         limit: int = 500, offset: int = 0):
    """The 双报到 roll (party × list): registrations of the communities in scope, with counts."""
    try:
        qs = party.roll(request.user, community=community or None, kind=kind, state=state, year=year)
        counts = party.roll_counts(request.user, year)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    limit = max(1, min(limit, 2000))
    return {"total": qs.count(), "items": [_reg_out(r) for r in qs[offset:offset + limit]], "communities": counts}


# --- 先锋岗 -----------------------------------------------------------------------------------


@router.get("/posts", response={200: list[dict], **ERRORS})
def posts(request, scope: str = ""):
    """Active vanguard posts: of my communities (a member), or of the grids in scope (scope=staff)."""
    try:
        qs = party.posts_in_scope(request.user) if scope == "staff" else party.posts_for_member(request.user)
        items = list(qs[:500])
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    duties = party.holders(items)
    me = request.user.pk
    return [{**_post_out(p, duties.get(p.pk, ())), "holding": any(d.user_id == me for d in duties.get(p.pk, ()))}
            for p in items]


class PostIn(Schema):
    name: str
    grid: str  # the grid's code
    description: str = ""
    party_org: int | None = None


@router.post("/posts", response={201: dict, **ERRORS})
def create_post(request, data: PostIn):
    """Staff create a vanguard post on a grid of their scope."""
    try:
        post = party.create_post(request.user, name=data.name, node=data.grid, description=data.description,
                                 party_org=data.party_org)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return Status(201, _post_out(post))


def _post_answer(post_id):
    post = VanguardPost.objects.select_related("node", "party_org").get(pk=post_id)
    return _post_out(post, party.holders([post]).get(post.pk, ()))


@router.post("/posts/{post_id}/take", response={200: dict, **ERRORS})
def take_post(request, post_id: int):
    try:
        party.take_post(request.user, post_id)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _post_answer(post_id)


class LeaveIn(Schema):
    user_id: int | None = None  # staff releasing a holder


@router.post("/posts/{post_id}/leave", response={200: dict, **ERRORS})
def leave_post(request, post_id: int, data: LeaveIn | None = None):
    try:
        party.leave_post(request.user, post_id, member=data.user_id if data else None)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _post_answer(post_id)


class AssignIn(Schema):
    user_id: int


@router.post("/posts/{post_id}/assign", response={200: dict, **ERRORS})
def assign_post(request, post_id: int, data: AssignIn):
    """Staff assign a registered member to the post."""
    try:
        party.assign_post(request.user, post_id, data.user_id)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _post_answer(post_id)


@router.post("/posts/{post_id}/close", response={200: dict, **ERRORS})
def close_post(request, post_id: int):
    try:
        party.close_post(request.user, post_id)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _post_answer(post_id)


# --- 实事 -------------------------------------------------------------------------------------


@router.get("/deeds", response={200: dict, **ERRORS})
def deeds(request, year: int | None = None, community: str = "", branch: int | None = None):
    """Each member's 实事 of the year against the expected: staff (party × list, scoped), or a
    branch's secretary with `branch` (their own branch's members)."""
    year = year or timezone.localdate().year
    try:
        if branch:
            table = party.branch_deeds(request.user, branch, year)
        else:
            table = party.deeds_table(request.user, year, community=community or None)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _table_out(table)


@router.get("/deeds/me", response=dict)
def my_deeds(request, year: int | None = None):
    d = party.my_deeds(request.user, year)
    return {"year": d["year"], "count": d["count"], "expected": d["expected"], "met": d["met"],
            "records": [{"source": r.source, "title": r.title, "at": r.at.isoformat(), "hours": str(r.hours)}
                        for r in d["records"]]}
