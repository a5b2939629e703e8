"""The native JSON API of cases (mounted at /api/cases/). It validates input and calls
`services`; rows come only through `Case.objects.visible_to(user)` (with `following=True` where
a reporter or follower reads or rates their case), and a case the user may not see answers 404
like a missing one."""

from django.conf import settings
from django.db.models import Q
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile

from gridgov.accounts import policy
from gridgov.accounts.models import Role, User
from gridgov.core import ratelimit

from . import services
from .models import OPEN_STATES, Case, Channel, Item, Scenario, Summons
from .recognize import recognize_item

try:  # django-ninja ≥ 1.5 wants Status; older versions take a (status, body) tuple
    from ninja import Status
except ImportError:  # pragma: no cover
    def Status(status_code, value):  # noqa: N802
        return status_code, value

router = Router(tags=["cases"])

ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}


def _error(exc):
    """403 (NotAllowed), 409 (Conflict) or 400, with {"detail": the Chinese message, "code": a
    stable code} (services.CaseError; a plain ValueError: code "invalid")."""
    if isinstance(exc, services.CaseError):
        body = {"detail": exc.source_message() or exc.code, "code": exc.code}
    else:
        body = {"detail": str(exc), "code": "invalid"}
    if isinstance(exc, services.NotAllowed):
        return Status(403, body)
    if isinstance(exc, services.Conflict):
        return Status(409, body)
    return Status(400, body)


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs), None
    except (services.CaseError, ValueError) as exc:
        return None, _error(exc)


def _visible(request, case_id, following=False):
    """The case if it is the user's work (every act), or with `following` also one they
    reported or follow (reading it, rating it)."""
    return (Case.objects.visible_to(request.user, following=following)
            .select_related("item", "grid", "path", "handler_user").filter(pk=case_id).first())


def _not_found():
    return Status(404, {"detail": "no such case"})


def _user(u):
    return {"username": u.username, "name": str(u)} if u else None


def case_out(case, user, detail=False, level=None) -> dict:
    """The case as `user` sees it (`services.view_for`): staff whose work it is get everything
    their rights allow; a reporter or follower gets the co-reporter view."""
    view = services.view_for(case, user, level, events=detail)
    out = {
        "id": case.pk,
        "number": case.number,
        "state": case.state,
        "state_label": case.get_state_display(),
        "channel": case.channel,
        "text": view.text,
        "item": {"code": case.item.code, "name": case.item.name, "scenario": case.item.scenario.name} if case.item_id else None,
        "urgency": case.urgency,
        "lon": case.lon,
        "lat": case.lat,
        "address": case.address,
        "grid": {"code": case.grid.code, "name": case.grid.name} if case.grid_id else None,
        "handler": {"level": case.handler_level, "department": case.handler_department, "user": _user(case.handler_user)},
        "merged_into": case.merged_into.number if case.merged_into_id else None,
        "reopen_count": case.reopen_count,
        "held": case.held,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
    }
    if detail:
        out["timeline"] = [
            {"at": e.at.isoformat(), "action": e.action, "from": e.from_state, "to": e.to_state, "actor": e.actor_name,
             "note": e.note, **({"data": e.data} if view.staff else {})}
            for e in view.events
        ]
        # through the page that checks who may see the case (never the store's own address)
        out["photos"] = [{"url": f"/cases/{case.pk}/photos/{p.pk}/", "stage": p.stage, "content_type": p.content_type}
                         for p in case.photos.all()]
        out["ratings"] = [{"score": r.score, "comment": r.comment, "round": r.round, "at": r.at.isoformat()} for r in view.ratings]
        if view.staff:
            out["routing_reason"] = case.routing_reason
            out["clocks"] = [
                {"kind": c.kind, "state": c.state, "basis": c.basis, "limit": c.limit, "started_at": c.started_at.isoformat(),
                 "warn_at": c.warn_at.isoformat(), "due_at": c.due_at.isoformat(), "department": c.department}
                for c in case.clocks.all()
            ]
            out["summons"] = [
                {"id": s.pk, "department": s.department, "due_at": s.due_at.isoformat(),
                 "reported_at": s.reported_at.isoformat() if s.reported_at else None, "report": s.report}
                for s in case.summons.all()
            ]
            if view.identities:
                out["reporter"] = _user(case.reporter)
            out["held_reason"] = case.held_reason
    return out


class SubmitIn(Schema):
    text: str = Field(description="at most CASES_MAX_TEXT characters (default 4000; the same on every door)")
    channel: str | None = None
    lon: float | None = Field(None, description="with lat: a point inside one of the street's grids (else 400)")
    lat: float | None = None
    crs: str = "wgs84"
    address: str = Field("", description=f"at most {services.MAX_ADDRESS} characters")
    item: str | None = None
    urgency: str | None = None
    idempotency_key: str | None = None


def _channel_for(user, asked):
    if user.is_staff_role:
        return asked or Channel.PATROL
    return Channel.VOLUNTEER if user.role == Role.VOLUNTEER and asked in (None, Channel.VOLUNTEER) else Channel.RESIDENT


@router.post("/", response={201: dict, 200: dict, **ERRORS})
def submit(request, data: Form[SubmitIn], photos: File[list[UploadedFile]] = None):
    """File a report (multipart form: fields and `photos`). An `Idempotency-Key` header (or
    the field) makes a retry of the same report return the first case with 200 instead of 201;
    the same key with a different report answers 409. A text over CASES_MAX_TEXT characters,
    an address over 200 or a point outside every grid answers 400."""
    key = request.headers.get("Idempotency-Key") or data.idempotency_key
    result, err = _call(
        services.submit_case, reporter=request.user, channel=_channel_for(request.user, data.channel), text=data.text,
        lon=data.lon, lat=data.lat, crs=data.crs, address=data.address, item=data.item or None, urgency=data.urgency or None,
        photos=photos or [], idempotency_key=key, defer=settings.INTAKE_DEFERRED,
    )
    if err:
        return err
    case, created = result
    return Status(201 if created else 200, case_out(case, request.user, detail=True))


@router.get("/", response=list[dict])
def list_cases(request, mine: bool = False, state: str | None = None, item: str | None = None, late: bool = False,
               limit: int = Query(50, ge=1, le=10**6), offset: int = Query(0, ge=0, le=10**9)):
    qs = services.late_cases(request.user) if late else Case.objects.visible_to(request.user, following=True)
    if mine:
        qs = qs.filter(Q(reporter=request.user) | Q(followers__user=request.user)).distinct()
    if state:
        qs = qs.filter(state=state)
    if item:
        qs = qs.filter(item__code=item)
    qs = qs.select_related("item__scenario", "grid", "handler_user", "merged_into", "reporter").order_by("-id")
    page = list(qs[offset : offset + min(limit, 200)])
    levels = Case.objects.access_levels(request.user, page)
    return [case_out(c, request.user, level=levels[c.pk]) for c in page]


@router.get("/taxonomy", response=list[dict])
def taxonomy(request):
    return [
        {"code": s.code, "name": s.name, "items": [
            {"code": i.code, "name": i.name, "urgency": i.default_urgency, "department": i.department,
             "volunteer_grabbable": i.volunteer_grabbable, "national_code": i.national_code}
            for i in s.items.filter(active=True)]}
        for s in Scenario.objects.prefetch_related("items")
    ]


class TextIn(Schema):
    text: str


@router.post("/recognize", response=dict)
def recognize(request, data: TextIn):
    item, confidence, alternatives = recognize_item(data.text)
    return {"item": {"code": item.code, "name": item.name} if item else None, "confidence": confidence, "alternatives": alternatives}


@router.get("/duplicates", response={200: list[dict], 400: dict, 429: dict})
def duplicates(request, lon: float, lat: float, text: str = "", item: str | None = None, crs: str = "wgs84"):
    """Open cases nearby that look the same; the reporter may join one instead of filing.
    Limited per user, device and address (RATE_LIMIT_LOOKUP*): it lists cases near any point."""
    refused = ratelimit.limit_lookup(request, "duplicates")
    if refused is not None:
        return refused
    found, err = _call(services.suggest_duplicates, lon=lon, lat=lat, text=text, item=item, crs=crs)
    if err:
        return err
    return [
        {"id": r["case"].pk, "number": r["case"].number, "text": r["case"].text[:100], "state": r["case"].state,
         "item": r["case"].item.name if r["case"].item_id else None, "distance_m": r["distance_m"],
         "similarity": r["similarity"], "same_item": r["same_item"]}
        for r in found
    ]


@router.get("/held", response={200: list[dict], 403: dict})
def held_cases(request, limit: int = Query(50, ge=1, le=10**6), offset: int = Query(0, ge=0, le=10**9)):
    """Reports held for moderation (the sensitive-word filter matched), for staff in scope."""
    if not services.may_moderate(request.user):
        return Status(403, {"detail": "only staff who moderate see held reports"})
    qs = Case.objects.visible_to(request.user).filter(held=True).select_related("item__scenario", "grid", "handler_user", "merged_into", "reporter")
    page = list(qs.order_by("id")[max(offset, 0): max(offset, 0) + max(min(limit, 200), 0)])
    levels = Case.objects.access_levels(request.user, page)
    return [case_out(c, request.user, level=levels[c.pk]) for c in page]


class WordIn(Schema):
    word: str
    category: str = "abuse"


@router.get("/words", response={200: list[dict], 403: dict})
def words(request):
    """The sensitive-word list (administrators)."""
    from .models import SensitiveWord

    if not policy.allows(request.user, "words", "list"):
        return Status(403, {"detail": "only administrators see the word list"})
    return [{"id": w.pk, "word": w.word, "category": w.category, "active": w.active} for w in SensitiveWord.objects.all()]


@router.post("/words", response={201: dict, **ERRORS})
def add_word(request, data: WordIn):
    w, err = _call(services.add_word, request.user, data.word, data.category)
    return err or Status(201, {"id": w.pk, "word": w.word, "category": w.category, "active": w.active})


@router.delete("/words/{word_id}", response={204: None, **ERRORS})
def remove_word(request, word_id: int):
    found, err = _call(services.remove_word, request.user, word_id)
    if err:
        return err
    return Status(204, None) if found else Status(404, {"detail": "no such word"})


class ModerateIn(Schema):
    decision: str
    note: str = ""


@router.post("/{case_id}/moderate", response={200: dict, **ERRORS})
def moderate(request, case_id: int, data: ModerateIn):
    """Release a held report (it is then dispatched like a new one) or reject it (note required)."""
    case = _visible(request, case_id)
    if case is None:
        return _not_found()
    _, err = _call(services.moderate, case, request.user, data.decision, data.note)
    return err or case_out(Case.objects.get(pk=case.pk), request.user, detail=True)


@router.get("/{case_id}", response={200: dict, 404: dict})
def detail(request, case_id: int):
    case = _visible(request, case_id, following=True)
    if case is None:
        return _not_found()
    return case_out(case, request.user, detail=True)


class ActionIn(Schema):
    note: str = ""
    passed: bool = True
    item: str | None = None
    handler: str | None = None
    target: int | None = None
    departments: list[str] = []
    hours: float | None = None


ACTIONS = {"accept", "arrive", "resolve", "verify", "close", "return", "reject", "escalate", "reroute", "merge", "summon", "dispatch"}


@router.post("/{case_id}/actions/{action}", response={200: dict, **ERRORS})
def act(request, case_id: int, action: str, data: ActionIn):
    """One workflow transition: accept, arrive, resolve, verify (passed=false: rework), close,
    return, reject, escalate, dispatch, reroute (item and/or handler), merge (into target),
    summon (departments, hours)."""
    case = _visible(request, case_id)
    if case is None or action not in ACTIONS:
        return _not_found()
    u = request.user
    item = None
    if data.item:
        item = Item.objects.filter(code=data.item, active=True).first()
        if item is None:
            return Status(400, {"detail": f"item: no active item with code {data.item!r}"})
    calls = {
        "accept": lambda: services.accept(case, u, data.note),
        "arrive": lambda: services.arrive(case, u, data.note),
        "resolve": lambda: services.resolve(case, u, data.note),
        "verify": lambda: services.verify(case, u, data.passed, data.note),
        "close": lambda: services.close(case, u, data.note),
        "return": lambda: services.return_case(case, u, data.note),
        "reject": lambda: services.reject(case, u, data.note),
        "escalate": lambda: services.escalate(case, u, data.note),
        "dispatch": lambda: services.dispatch(case, u, data.note, item=item),
        "summon": lambda: services.summon(case, u, data.departments, data.note, data.hours),
    }
    if action == "reroute":
        handler = None
        if data.handler:
            handler = User.objects.filter(username=data.handler, is_active=True).first()
            if handler is None:
                return _error(services.no_such_handler(data.handler))
        calls["reroute"] = lambda: services.reroute(case, u, item=item, handler_user=handler, note=data.note)
    if action == "merge":
        target = _visible(request, data.target) if data.target else None
        if target is None:
            return Status(400, {"detail": "target: give the id of a case you can see"})
        calls["merge"] = lambda: services.merge(case, target, u, data.note)
    _, err = _call(calls[action])
    if err:
        return err
    return case_out(Case.objects.get(pk=case.pk), u, detail=True)


class ResolveIn(Schema):
    note: str = ""


@router.post("/{case_id}/resolve", response={200: dict, **ERRORS})
def resolve(request, case_id: int, data: Form[ResolveIn], photos: File[list[UploadedFile]] = None):
    """Resolve with what was done (`note`) and photos of the result (multipart): the same rule
    as every door (`services.check_resolution`: a description; a photo when handled on site)."""
    case = _visible(request, case_id)
    if case is None:
        return _not_found()
    _, err = _call(services.resolve, case, request.user, data.note, photos=photos or [])
    return err or case_out(Case.objects.get(pk=case.pk), request.user, detail=True)


class RateIn(Schema):
    score: str
    comment: str = ""


@router.post("/{case_id}/rate", response={200: dict, **ERRORS})
def rate(request, case_id: int, data: RateIn):
    case = _visible(request, case_id, following=True)
    if case is None:
        return _not_found()
    _, err = _call(services.rate, case, request.user, data.score, data.comment)
    return err or case_out(Case.objects.get(pk=case.pk), request.user, detail=True)


@router.post("/{case_id}/reveal", response={200: dict, **ERRORS})
def reveal(request, case_id: int):
    """The text, address and notes as typed (ID and mobile numbers are masked at intake), for
    staff with the right to personal data of cases in the case's grid; audited."""
    case = _visible(request, case_id)
    if case is None:
        return _not_found()
    got, err = _call(services.reveal_originals, request.user, case)
    return err or {**got, "notes": {str(k): v for k, v in got["notes"].items()}}


@router.post("/{case_id}/grab", response={200: dict, **ERRORS})
def grab(request, case_id: int):
    case = _visible(request, case_id)
    if case is None:
        return _not_found()
    _, err = _call(services.grab, case, request.user)
    return err or case_out(case, request.user, detail=True)


class JoinIn(Schema):
    lon: float
    lat: float
    crs: str = "wgs84"


@router.post("/{case_id}/join", response={200: dict, **ERRORS})
def join(request, case_id: int, data: JoinIn):
    """Follow an open case offered by /duplicates instead of filing a new one. The case need
    not be visible yet, so the caller gives where they are: only a case within the duplicate
    radius of that point can be joined (no joining arbitrary cases by id). The follower then
    sees it as a co-reporter (`services.view_for`), never more."""
    case = Case.objects.filter(pk=case_id, state__in=OPEN_STATES, held=False).first()
    if case is None or case.lon is None:
        return _not_found()
    nearby, err = _call(services.suggest_duplicates, lon=data.lon, lat=data.lat, crs=data.crs, item=case.item, limit=50)
    if err:
        return err
    if case.pk not in {r["case"].pk for r in nearby}:
        return _not_found()
    _, err = _call(services.join, case, request.user)
    return err or case_out(case, request.user, detail=True)


class ReportIn(Schema):
    report: str


@router.post("/summons/{summons_id}/report", response={200: dict, **ERRORS})
def report_back(request, summons_id: int, data: ReportIn):
    s = Summons.objects.filter(pk=summons_id, case__in=Case.objects.visible_to(request.user)).select_related("case").first()
    if s is None:
        return Status(404, {"detail": "no such summons"})
    _, err = _call(services.report_back, s, request.user, data.report)
    return err or case_out(s.case, request.user, detail=True)


# --- the routing table, editable by administrators and leaders -----------------------------------

from datetime import time as _time  # noqa: E402

from .models import RoutingPath, RoutingRule, RoutingRuleHistory  # noqa: E402
from . import routing  # noqa: E402


class RuleIn(Schema):
    item: str | None = None  # item code
    scenario: str | None = None  # scenario code
    urgency: str | None = None
    grid_level: int | None = Field(None, ge=0, le=32767)
    start_time: _time | None = None
    end_time: _time | None = None
    path: str  # path code
    priority: int = Field(100, ge=-32768, le=32767)  # the column is a small integer
    note: str = Field("", max_length=200)
    active: bool = True


def _apply_rule(rule: RoutingRule, body: RuleIn):
    rule.item = Item.objects.filter(code=body.item).first() if body.item else None
    if body.item and rule.item is None:
        raise ValueError(f"item: no item with code {body.item!r}")
    rule.scenario = Scenario.objects.filter(code=body.scenario).first() if body.scenario else None
    if body.scenario and rule.scenario is None:
        raise ValueError(f"scenario: no scenario with code {body.scenario!r}")
    from .models import Urgency

    if body.urgency and body.urgency not in Urgency.values:
        raise ValueError(f"urgency: one of {', '.join(Urgency.values)}")
    rule.urgency = body.urgency or ""
    rule.grid_level = body.grid_level
    rule.start_time, rule.end_time = body.start_time, body.end_time
    path = RoutingPath.objects.filter(code=body.path).first()
    if path is None:
        raise ValueError(f"path: no routing path with code {body.path!r}")
    rule.path = path
    rule.priority, rule.note, rule.active = body.priority, body.note, body.active


@router.get("/routing/paths", response={200: list[dict], 403: dict})
def list_paths(request):
    """The routing paths (ordered handler levels) rules may point to."""
    if not policy.allows(request.user, "routing", "list"):
        return Status(403, {"detail": "staff only"})
    return [{"code": p.code, "name": p.name, "steps": p.steps} for p in RoutingPath.objects.all()]


@router.get("/routing/rules", response={200: list[dict], 403: dict})
def list_rules(request):
    """The rule table: item/scenario × urgency × grid level × time window → path."""
    if not policy.allows(request.user, "routing", "list"):
        return Status(403, {"detail": "staff only"})
    return [r.as_dict() for r in RoutingRule.objects.select_related("item", "scenario", "path")]


@router.post("/routing/rules", response={201: dict, 400: dict, 403: dict})
def create_rule(request, body: RuleIn):
    if not routing.may_edit_rules(request.user):
        return Status(403, {"detail": "only administrators and leaders edit the routing table"})
    rule = RoutingRule()
    try:
        _apply_rule(rule, body)
        routing.save_rule(rule, request.user)
    except ValueError as exc:
        return Status(400, {"detail": str(exc)})
    return Status(201, rule.as_dict())


@router.put("/routing/rules/{rule_id}", response={200: dict, 400: dict, 403: dict, 404: dict})
def update_rule(request, rule_id: int, body: RuleIn):
    if not routing.may_edit_rules(request.user):
        return Status(403, {"detail": "only administrators and leaders edit the routing table"})
    rule = RoutingRule.objects.filter(pk=rule_id).first()
    if rule is None:
        return Status(404, {"detail": "no such rule"})
    try:
        _apply_rule(rule, body)
        routing.save_rule(rule, request.user)
    except ValueError as exc:
        return Status(400, {"detail": str(exc)})
    return Status(200, rule.as_dict())


@router.delete("/routing/rules/{rule_id}", response={204: None, 403: dict, 404: dict})
def remove_rule(request, rule_id: int):
    if not routing.may_edit_rules(request.user):
        return Status(403, {"detail": "only administrators and leaders edit the routing table"})
    rule = RoutingRule.objects.filter(pk=rule_id).first()
    if rule is None:
        return Status(404, {"detail": "no such rule"})
    routing.delete_rule(rule, request.user)
    return Status(204, None)


@router.get("/routing/history", response={200: list[dict], 403: dict})
def rule_history(request, rule_id: int | None = None):
    """Every edit of the rule table: who, when, what."""
    if not policy.allows(request.user, "routing", "list"):
        return Status(403, {"detail": "staff only"})
    qs = RoutingRuleHistory.objects.select_related("user").order_by("-id")
    if rule_id is not None:
        qs = qs.filter(rule_id=rule_id)
    return [
        {"rule_id": h.rule_id, "action": h.action, "data": h.data, "user": h.user.username if h.user else None, "at": h.at.isoformat()}
        for h in qs[:500]
    ]


# --- the taxonomy: scenarios and items, edited by administrators --------------------------------

from datetime import date as _date  # noqa: E402
from decimal import Decimal  # noqa: E402

from django.core.exceptions import PermissionDenied  # noqa: E402

from . import taxonomy as _taxonomy  # noqa: E402
from . import workcal  # noqa: E402


def item_out(i: Item) -> dict:
    return {
        "code": i.code, "name": i.name, "scenario": i.scenario.code, "keywords": i.keywords,
        "default_urgency": i.default_urgency, "department": i.department,
        **{f"{k}_limit": (float(getattr(i, f"{k}_limit")) if getattr(i, f"{k}_limit") is not None else None)
           for k in ("accept", "arrive", "resolve")},
        **{f"{k}_unit": getattr(i, f"{k}_unit") for k in ("accept", "arrive", "resolve")},
        "volunteer_grabbable": i.volunteer_grabbable, "national_kind": i.national_kind,
        "national_code": i.national_code, "national_name": i.national_name, "active": i.active,
    }


class ItemIn(Schema):
    """Every field optional on PUT (only those given change); POST needs scenario, code, name,
    department. A limit null (or omitted on POST): that clock never starts. Units: minutes,
    working_hours, working_days."""

    scenario: str | None = None
    code: str | None = Field(None, max_length=30)
    name: str | None = Field(None, max_length=60)
    keywords: str | None = Field(None, max_length=2000)
    default_urgency: str | None = None
    department: str | None = Field(None, max_length=100)
    accept_limit: Decimal | None = None
    accept_unit: str | None = None
    arrive_limit: Decimal | None = None
    arrive_unit: str | None = None
    resolve_limit: Decimal | None = None
    resolve_unit: str | None = None
    volunteer_grabbable: bool | None = None
    national_kind: str | None = None
    national_code: str | None = Field(None, max_length=10)
    national_name: str | None = Field(None, max_length=60)
    active: bool | None = None


def _item_fields(body: ItemIn, creating: bool) -> dict:
    given = body.dict(exclude_unset=True)
    # a limit given as null removes that clock; other nulls mean "not given"
    return {k: v for k, v in given.items() if v is not None or k.endswith("_limit")}


def _taxonomy_call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs), None
    except PermissionDenied:
        return None, Status(403, {"detail": "only administrators edit the taxonomy"})
    except ValueError as exc:
        return None, Status(400, {"detail": str(exc)})


@router.get("/taxonomy/items", response={200: list[dict], 403: dict})
def list_items(request, active: bool | None = None):
    """Every item with its limits (inactive ones too unless `active`): taxonomy × list."""
    if not policy.allows(request.user, "taxonomy", "list"):
        return Status(403, {"detail": "staff only"})
    qs = Item.objects.select_related("scenario")
    if active is not None:
        qs = qs.filter(active=active)
    return [item_out(i) for i in qs]


@router.post("/taxonomy/items", response={201: dict, 400: dict, 403: dict})
def create_item(request, body: ItemIn):
    item, err = _taxonomy_call(_taxonomy.save_item, request.user, None, **_item_fields(body, True))
    return err or Status(201, item_out(item))


@router.put("/taxonomy/items/{code}", response={200: dict, 400: dict, 403: dict, 404: dict})
def update_item(request, code: str, body: ItemIn):
    """Change the given fields; new limits apply to clocks started from now on."""
    item = Item.objects.filter(code=code).first()
    if item is None:
        return Status(404, {"detail": "no such item"})
    item, err = _taxonomy_call(_taxonomy.save_item, request.user, item, **_item_fields(body, False))
    return err or Status(200, item_out(item))


def _history_out(rows) -> list[dict]:
    return [{"at": h.at.isoformat(), "actor": h.actor_name, "action": h.action, "changes": h.changes, "note": h.note}
            for h in rows[:500]]


@router.get("/taxonomy/items/{code}/history", response={200: list[dict], 403: dict, 404: dict})
def item_history(request, code: str):
    if not policy.allows(request.user, "taxonomy", "list"):
        return Status(403, {"detail": "staff only"})
    item = Item.objects.filter(code=code).first()
    if item is None:
        return Status(404, {"detail": "no such item"})
    return _history_out(_taxonomy.item_history(item))


class ScenarioIn(Schema):
    code: str | None = Field(None, max_length=30)
    name: str | None = Field(None, max_length=60)
    order: int | None = Field(None, ge=0, le=32767)
    active: bool | None = None


def _scenario_out(s: Scenario) -> dict:
    return {"code": s.code, "name": s.name, "order": s.order, "active": s.active}


@router.post("/taxonomy/scenarios", response={201: dict, 400: dict, 403: dict})
def create_scenario(request, body: ScenarioIn):
    sc, err = _taxonomy_call(_taxonomy.save_scenario, request.user, None, **body.dict(exclude_none=True))
    return err or Status(201, _scenario_out(sc))


@router.put("/taxonomy/scenarios/{code}", response={200: dict, 400: dict, 403: dict, 404: dict})
def update_scenario(request, code: str, body: ScenarioIn):
    sc = Scenario.objects.filter(code=code).first()
    if sc is None:
        return Status(404, {"detail": "no such scenario"})
    sc, err = _taxonomy_call(_taxonomy.save_scenario, request.user, sc, **body.dict(exclude_none=True))
    return err or Status(200, _scenario_out(sc))


# --- routing paths: view and edit ----------------------------------------------------------------


class PathIn(Schema):
    name: str | None = Field(None, max_length=100)
    steps: list[list[str]] | None = None


@router.put("/routing/paths/{code}", response={200: dict, 400: dict, 403: dict, 404: dict})
def update_path(request, code: str, body: PathIn):
    """Rename a path or change its steps (each a list of handler levels: the first handles, the
    others are informed): routing × update, with history. Cases already on the path keep their
    step numbers."""
    path = RoutingPath.objects.filter(code=code).first()
    if path is None:
        return Status(404, {"detail": "no such path"})
    try:
        routing.save_path(path, request.user, **body.dict(exclude_none=True))
    except PermissionDenied:
        return Status(403, {"detail": "only administrators and leaders edit the routing table"})
    except ValueError as exc:
        return Status(400, {"detail": str(exc)})
    return Status(200, {"code": path.code, "name": path.name, "steps": path.steps})


# --- the working calendar's local overrides ------------------------------------------------------


class OverrideIn(Schema):
    date: _date
    is_workday: bool
    note: str = Field("", max_length=100)


@router.get("/calendar/days", response={200: list[dict], 403: dict})
def list_overrides(request):
    """Local overrides of the national calendar (holidays, make-up working days): settings × list."""
    if not policy.allows(request.user, "settings", "list"):
        return Status(403, {"detail": "not allowed"})
    from .models import CalendarOverride

    return [{"date": o.date.isoformat(), "is_workday": o.is_workday, "note": o.note} for o in CalendarOverride.objects.all()]


@router.post("/calendar/days", response={201: dict, 403: dict})
def add_override(request, body: OverrideIn):
    """Add or change the override of a day: settings × update."""
    try:
        row = workcal.set_override(request.user, body.date, body.is_workday, body.note)
    except PermissionDenied:
        return Status(403, {"detail": "only administrators edit the working calendar"})
    return Status(201, {"date": row.date.isoformat(), "is_workday": row.is_workday, "note": row.note})


@router.delete("/calendar/days/{day}", response={204: None, 403: dict, 404: dict})
def delete_override(request, day: _date):
    try:
        found = workcal.remove_override(request.user, day)
    except PermissionDenied:
        return Status(403, {"detail": "only administrators edit the working calendar"})
    return Status(204, None) if found else Status(404, {"detail": "no override on that day"})
