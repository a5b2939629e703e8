"""API of deliberation's topics (居民提、楼长集), at /api/deliberation/topics. Signed-in users only.
Views validate and call gridgov.deliberation.proposals; errors answer {"detail": the Chinese
message, "code": a stable code} (core.errors.api_error) with 400 / 403 / 404 / 409.

* GET ""                      the topics visible to me (?mine=1: those I proposed or entered;
  ?state=); with ?scope=staff the topics of the grids in scope (deliberation × list, else 403;
  ?community=<id or code>&state=&phase=<id or name>&month=). Paginated: ?page=&page_size=
  → {"count", "page", "page_size", "items"}
* POST ""                     propose {title, body, token (a building's QR code)}
* POST /enter                 enter one for someone {title, body, building, node, resident,
  person_name, channel}: a steward for their buildings, staff with deliberation × create
* GET /stewarded              the open proposals of the buildings I serve as a steward
* GET /held                   held comments I moderate (deliberation × moderate, else 403)
* POST /comments/{id}/release, /comments/{id}/reject {reason}
* GET /{id}                   the card (whose it is only for staff in scope, the proposer, who
  entered it) with my support and the acts open to me
* POST /{id}/support, DELETE /{id}/support
* GET /{id}/comments, POST /{id}/comments {text}
* POST /{id}/notes {text}, POST /{id}/merge {into}, POST /{id}/forward {note}, POST /{id}/withdraw
* GET /{id}/duplicates        likely duplicates (stewards and staff who may merge it)"""

from django.db.models import Q
from ninja import Query, Router, Schema
from ninja.responses import Status

from gridgov.accounts import policy
from gridgov.core.errors import api_call

from . import proposals, services
from .models import Topic

router = Router(tags=["deliberation"])
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}
MAX_PAGE_SIZE = 200


def _signed_in(request):
    if not services.signed_in(request.user):
        return Status(401, {"detail": "请先登录", "code": "login"})
    return None


def detail_out(topic: Topic, user) -> dict:
    out = proposals.card(topic, user)
    out["supported"] = proposals.supported(user, topic)
    out["acts"] = proposals.acts(user, topic)
    return out


def _page(qs, page: int, page_size: int, item):
    size = max(1, min(page_size, MAX_PAGE_SIZE))
    page = max(1, page)
    total = qs.count()
    return {"count": total, "page": page, "page_size": size,
            "items": [item(o) for o in qs[(page - 1) * size: page * size]]}


def _related(qs):
    return qs.select_related("phase", "community", "compound", "building", "node", "proposer", "entered_by",
                             "proposer_resident")


@router.get("", response={200: dict, 401: dict, 403: dict})
def topics(request, scope: str = "", mine: bool = False, community: str = "", state: str = "", phase: str = "",
           month: str = "", page: int = Query(1, le=10**7), page_size: int = Query(50, le=10**6)):
    """The topics visible to me, or with scope=staff the staff's list of the grids in scope."""
    refused = _signed_in(request)
    if refused:
        return refused
    user = request.user
    if scope == "staff":
        if not policy.allows(user, services.KIND, "list"):
            return Status(403, {"detail": "not allowed: list deliberation", "code": "not_allowed"})
        qs = proposals.staff_topics(user)
        if community:
            qs = qs.filter(Q(community__code=community) | Q(community_id=int(community) if community.isdigit() else -1))
        if phase:
            qs = qs.filter(Q(phase__name=phase) | Q(phase_id=int(phase) if phase.isdigit() else -1))
        if month:
            qs = qs.filter(month=month)
    else:
        qs = _related(Topic.objects.visible_to(user))
        if mine:
            qs = qs.filter(Q(proposer=user) | Q(entered_by=user))
    if state:
        qs = qs.filter(state=state)
    return _page(qs.order_by("-created_at", "-id"), page, page_size, lambda t: proposals.card(t, user))


class ProposeIn(Schema):
    title: str
    body: str = ""
    token: str = ""


@router.post("", response={201: dict, 401: dict, **ERRORS})
def propose(request, data: ProposeIn):
    refused = _signed_in(request)
    if refused:
        return refused
    topic, err = api_call(proposals.propose, request.user, title=data.title, body=data.body, token=data.token or None)
    return err or Status(201, detail_out(topic, request.user))


class EnterIn(Schema):
    title: str
    body: str = ""
    building: int | None = None
    node: int | None = None
    resident: int | None = None
    person_name: str = ""
    channel: str = Topic.Channel.STEWARD


@router.post("/enter", response={201: dict, 401: dict, **ERRORS})
def enter(request, data: EnterIn):
    """A steward (for their buildings) or staff (deliberation × create) enters one for someone."""
    refused = _signed_in(request)
    if refused:
        return refused
    topic, err = api_call(proposals.enter_for, request.user, title=data.title, body=data.body, building=data.building,
                       node=data.node, resident=data.resident, person_name=data.person_name, channel=data.channel)
    return err or Status(201, detail_out(topic, request.user))


@router.get("/stewarded", response={200: dict, 401: dict})
def stewarded(request):
    refused = _signed_in(request)
    if refused:
        return refused
    return {"items": [detail_out(t, request.user) for t in proposals.stewarded(request.user)[:200]]}


@router.get("/held", response={200: dict, 401: dict, 403: dict})
def held(request, page: int = Query(1, le=10**7), page_size: int = Query(50, le=10**6)):
    """Held comments of the grids I moderate (deliberation × moderate)."""
    refused = _signed_in(request)
    if refused:
        return refused
    if not policy.allows(request.user, services.KIND, "moderate"):
        return Status(403, {"detail": "not allowed: moderate deliberation", "code": "not_allowed"})

    def item(c):
        return {**proposals.comment_out(c, request.user), "topic": c.topic_id, "topic_title": c.topic.title,
                "community": c.topic.community.name}

    return _page(proposals.held_comments(request.user), page, page_size, item)


class ReasonIn(Schema):
    reason: str = ""


@router.post("/comments/{comment_id}/release", response={200: dict, **ERRORS})
def release(request, comment_id: int):
    c, err = api_call(proposals.release_comment, request.user, comment_id)
    return err or proposals.comment_out(c, request.user)


@router.post("/comments/{comment_id}/reject", response={200: dict, **ERRORS})
def reject(request, comment_id: int, data: ReasonIn):
    c, err = api_call(proposals.reject_comment, request.user, comment_id, data.reason)
    return err or proposals.comment_out(c, request.user)


@router.get("/{topic_id}", response={200: dict, **ERRORS})
def detail(request, topic_id: int):
    topic, err = api_call(services.get_topic, request.user, topic_id)
    return err or detail_out(topic, request.user)


@router.post("/{topic_id}/support", response={200: dict, **ERRORS})
def support(request, topic_id: int):
    topic, err = api_call(proposals.support, request.user, topic_id)
    return err or detail_out(topic, request.user)


@router.delete("/{topic_id}/support", response={200: dict, **ERRORS})
def unsupport(request, topic_id: int):
    topic, err = api_call(proposals.unsupport, request.user, topic_id)
    return err or detail_out(topic, request.user)


@router.get("/{topic_id}/comments", response={200: dict, **ERRORS})
def comments(request, topic_id: int):
    topic, err = api_call(services.get_topic, request.user, topic_id)
    if err:
        return err
    moderator = services.may_moderate(request.user, topic)
    return {"items": [proposals.comment_out(c, request.user, moderator)
                      for c in proposals.comments_for(request.user, topic)]}


class TextIn(Schema):
    text: str


@router.post("/{topic_id}/comments", response={201: dict, **ERRORS})
def add_comment(request, topic_id: int, data: TextIn):
    """201 with the comment: state "visible", or "held" (a listed word: shown to me and moderators)."""
    c, err = api_call(proposals.comment, request.user, topic_id, data.text)
    return err or Status(201, proposals.comment_out(c, request.user))


@router.post("/{topic_id}/notes", response={201: dict, **ERRORS})
def add_note(request, topic_id: int, data: TextIn):
    note, err = api_call(proposals.add_note, request.user, topic_id, data.text)
    return err or Status(201, {"id": note.pk, "text": note.text, "author": note.author_name, "at": note.at.isoformat()})


class MergeIn(Schema):
    into: int


@router.post("/{topic_id}/merge", response={200: dict, **ERRORS})
def merge(request, topic_id: int, data: MergeIn):
    """Merge this topic into `into`; answers the target's card."""
    target, err = api_call(proposals.merge, request.user, topic_id, data.into)
    return err or detail_out(target, request.user)


class NoteIn(Schema):
    note: str = ""


@router.post("/{topic_id}/forward", response={200: dict, **ERRORS})
def forward(request, topic_id: int, data: NoteIn = None):
    topic, err = api_call(proposals.forward, request.user, topic_id, data.note if data else "")
    return err or detail_out(topic, request.user)


@router.post("/{topic_id}/withdraw", response={200: dict, **ERRORS})
def withdraw(request, topic_id: int):
    topic, err = api_call(proposals.withdraw, request.user, topic_id)
    return err or detail_out(topic, request.user)


@router.get("/{topic_id}/duplicates", response={200: dict, **ERRORS})
def duplicates(request, topic_id: int):
    topic, err = api_call(services.get_topic, request.user, topic_id)
    if err:
        return err
    if not proposals.may_merge(request.user, topic):
        return Status(403, {"detail": "only stewards of its building and staff who may merge it", "code": "not_allowed"})
    return {"items": [{**proposals.card(d["topic"], request.user), "similarity": d["similarity"]}
                      for d in proposals.duplicates_of(topic)]}
