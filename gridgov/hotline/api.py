"""Hotline API: tickets in, the address queue, the rates with drill-down, topics, proactive projects.

Every read goes through `.visible_to(request.user)`; a ticket or project outside the user's scope
answers 404 like a missing one. Staff roles only."""

from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from gridgov.accounts.policy import api_require
from gridgov.core.dbrouter import reads_from_replica
from gridgov.geo.models import GridNode

from . import clusters, rates, services
from .models import Milestone, ProactiveProject, RateSettings, Ticket

router = Router(tags=["hotline"])


def _staff(request):
    if not request.user.is_staff_role:
        raise HttpError(403, "staff only")


def _ticket_row(t: Ticket) -> dict:
    return {
        "id": t.id, "ticket_id": t.ticket_id, "received_at": t.received_at.isoformat(), "month": t.month,
        "content": t.content, "category_l1": t.category_l1, "category_l2": t.category_l2,
        "category_l3": t.category_l3, "category_source": t.category_source,
        "category_confidence": t.category_confidence, "address": t.address_text,
        "grid": t.grid.code if t.grid_id else None, "community": t.community.name if t.community_id else None,
        "valid": t.valid, "contacted": t.contacted, "solved": t.solved, "satisfaction": t.satisfaction,
        "address_match": t.address_match, "case_id": t.case_id,
        # read through from the cases app: where the street's own loop stands (the three rates
        # still come from the city's contacted/solved/satisfaction columns)
        "case_number": t.case.number if t.case_id else None,
        "case_state": t.case.state if t.case_id else None,
    }


class TicketIn(Schema):
    ticket_id: str
    received_at: str
    content: str
    category: str | None = None
    category_l1: str | None = None
    category_l2: str | None = None
    category_l3: str | None = None
    address: str | None = None
    community: str | None = None
    lat: float | str | None = None
    lon: float | str | None = None
    contacted: bool | str | None = None
    solved: bool | str | None = None
    satisfaction: str | None = None
    valid: bool | str | None = None


def _b(v):
    return ("是" if v else "否") if isinstance(v, bool) else v


@router.post("/tickets")
def post_tickets(request, payload: list[TicketIn]):
    """Create or update tickets (same rules as the file import); 422 lists every bad value.
    Every ticket must land in the caller's scope, and an updated one must be visible to them."""
    api_require(request, "tickets", "create")
    records = []
    for p in payload:
        d = p.dict()
        for k in ("contacted", "solved", "valid"):
            d[k] = _b(d[k])
        records.append(d)
    try:
        r = services.import_records(request.user, records)
    except PermissionDenied as e:
        raise HttpError(403, str(e))
    except services.TicketImportError as e:
        return JsonResponse({"detail": str(e), "errors": [vars(x) for x in e.errors]}, status=422,
                            json_dumps_params={"ensure_ascii": False})
    return {"created": r.created, "updated": r.updated, "classified": r.classified, "pending": r.pending,
            "unplaced": r.unplaced, "cases": r.cases, "cases_deferred": r.cases_deferred}


@router.get("/tickets", response={200: dict, 404: dict})  # 404: a grid code outside the scope
def list_tickets(request, month: str | None = None, grid: str | None = None, category: str | None = None,
                 limit: int = Query(100, le=10**6), offset: int = Query(0, ge=0, le=10**9)):
    api_require(request, "tickets", "list")
    qs = Ticket.objects.visible_to(request.user).select_related("grid", "community", "case")
    if month:
        qs = qs.filter(month=_month(month))
    if grid:
        node = GridNode.objects.visible_to(request.user).filter(code=grid).first()
        if node is None:
            raise Http404("no such grid")
        qs = qs.filter(grid__path__startswith=node.path)
    if category:
        qs = qs.filter(category_l1=category) | qs.filter(category_l2=category)
    limit = max(1, min(limit, 1000))
    return {"count": qs.count(), "tickets": [_ticket_row(t) for t in qs[offset : offset + limit]]}


@router.get("/address-queue")
def address_queue(request, limit: int = Query(100, ge=0, le=10**6)):
    """Tickets whose address could not be matched with confidence, with the best candidates."""
    api_require(request, "tickets", "list")
    qs = Ticket.objects.visible_to(request.user).filter(address_match="pending").select_related("grid", "community")
    return {
        "count": qs.count(),
        "tickets": [
            {**_ticket_row(t), "candidates": t.address_candidates, "score": t.address_score}
            for t in qs.order_by("received_at", "id")[: max(1, min(limit, 1000))]
        ],
    }


@router.get("/tickets/{ticket_id}")
def get_ticket(request, ticket_id: int):
    """One ticket; outside the user's scope it answers 404 like a missing one."""
    t = get_object_or_404(Ticket.objects.visible_to(request.user).select_related("grid", "community"), pk=ticket_id)
    return {**_ticket_row(t), "candidates": t.address_candidates, "score": t.address_score}


class AddressIn(Schema):
    address_id: int


@router.post("/tickets/{ticket_id}/address")
def confirm_address(request, ticket_id: int, payload: AddressIn):
    """Staff confirm a ticket's standard address; the ticket moves to that address's grid."""
    api_require(request, "tickets", "update")
    from gridgov.registry.models import Address

    t = get_object_or_404(Ticket.objects.visible_to(request.user), pk=ticket_id)
    a = get_object_or_404(Address.objects.visible_to(request.user), pk=payload.address_id)
    t = services.confirm_address(request.user, t, a)
    t = Ticket.objects.select_related("grid", "community").get(pk=t.pk)
    return _ticket_row(t)


class CategoryIn(Schema):
    category_l1: str
    category_l2: str = ""
    category_l3: str = ""


@router.post("/tickets/{ticket_id}/category", response={200: dict, 400: dict, 404: dict, 503: dict})
def set_category(request, ticket_id: int, payload: CategoryIn):
    """Staff correct a ticket's category: level 1 one of the taxonomy's labels (400 lists them),
    levels 2 and 3 free. The ticket's category source becomes "staff": re-imports keep it and
    `gridgov hotline train --from-db` learns from it. 404 outside the user's scope; 503 when the
    server has no taxonomy (neither the file nor a trained model)."""
    api_require(request, "tickets", "update")
    t = get_object_or_404(Ticket.objects.visible_to(request.user), pk=ticket_id)
    try:
        services.set_category(request.user, t, payload.category_l1, payload.category_l2, payload.category_l3)
    except PermissionDenied as e:
        raise HttpError(403, str(e))
    except services.TaxonomyMissing as e:
        raise HttpError(503, str(e))
    except services.CategoryError as e:
        raise HttpError(400, str(e))
    t = Ticket.objects.select_related("grid", "community", "case").get(pk=t.pk)
    return _ticket_row(t)


# --- rates ---------------------------------------------------------------------------------


def _month(month: str) -> str:
    """rates.check_month, the one month parser: 422 for a malformed month or one out of range."""
    try:
        return rates.check_month(month)
    except rates.MonthError as e:
        raise HttpError(422, str(e)) from None


@router.get("/rates")
@reads_from_replica
def get_rates(request, month: str, level: str = "community"):
    """Response, resolution, satisfaction and composite rates of what the user sees and of each
    unit of `level`: `street` (a district's streets ranked against each other, 0), `community`
    (1) or `grid` (2), with changes, ranking, rising categories and dragging tickets."""
    _staff(request)
    try:
        unit = rates.unit_level(level)
    except ValueError as e:
        raise HttpError(422, str(e)) from None
    return rates.monthly_report(_month(month), request.user, unit)


@router.get("/rates/cell", response={200: dict, 404: dict})
def rate_cell(request, month: str, measure: str, scope: str = "street", limit: int = Query(500, ge=0, le=10**6)):
    """The tickets behind one figure: scope 'street' or a grid code; measure valid, contacted,
    not_contacted, solved, unsolved, rated, satisfied, basic, unsatisfied, invalid or all."""
    _staff(request)
    month = _month(month)
    try:
        qs = rates.cell_tickets(month, measure, scope, request.user)
    except ValueError as e:
        raise HttpError(422, str(e))
    except LookupError:
        raise Http404("no such grid")
    qs = qs.select_related("grid", "community", "case")
    return {"month": month, "measure": measure, "scope": scope, "count": qs.count(),
            "tickets": [_ticket_row(t) for t in qs[: max(1, min(limit, 5000))]]}


class SettingsIn(Schema):
    basic_weight: float | None = None
    response_weight: float | None = None
    resolution_weight: float | None = None
    satisfaction_weight: float | None = None
    min_sample: int | None = None
    address_threshold: float | None = None
    address_margin: float | None = None


@router.get("/settings")
def get_settings(request):
    _staff(request)
    s = RateSettings.current()
    return {**rates.settings_dict(s), "address_threshold": s.address_threshold, "address_margin": s.address_margin}


@router.put("/settings")
def put_settings(request, payload: SettingsIn):
    """Administrators change the weights and thresholds (one settings row)."""
    try:
        services.update_rate_settings(request.user, **payload.dict(exclude_none=True))
    except PermissionDenied as e:
        raise HttpError(403, str(e))
    except ValueError as e:
        raise HttpError(422, str(e))
    return get_settings(request)


# --- topics and projects -------------------------------------------------------------------


@router.get("/clusters")
def get_clusters(request, month: str, limit: int = Query(20, le=10**6)):
    """Near-duplicate clusters (the month's topics), hot spots and recurring problems."""
    _staff(request)
    return clusters.month_topics(_month(month), user=request.user, limit=max(1, min(limit, 100)))


class ProjectIn(Schema):
    title: str
    grid: str
    category_l1: str = ""
    category_l2: str = ""
    compound_id: int | None = None
    ticket_ids: list[int] = []
    owner: str = ""
    funding_source: str = ""
    budget: Decimal | None = None
    description: str = ""
    cluster_key: str = ""


def _project_row(p: ProactiveProject, effect=False) -> dict:
    out = {
        "id": p.id, "title": p.title, "grid": p.grid.code, "compound": p.compound.name if p.compound_id else None,
        "category_l1": p.category_l1, "category_l2": p.category_l2, "owner": p.owner,
        "funding_source": p.funding_source, "budget": str(p.budget) if p.budget is not None else None,
        "status": p.status, "started_on": p.started_on, "completed_on": p.completed_on, "progress": p.progress,
        "tickets": list(p.tickets.values_list("id", flat=True)),
        "milestones": [{"id": m.id, "title": m.title, "due_on": m.due_on, "done_on": m.done_on, "progress": m.progress}
                       for m in p.milestones.all()],
    }
    if effect:
        out["effect"] = services.project_effect(p)
    return out


def _errors(fn, *a, **kw):
    try:
        return fn(*a, **kw)
    except PermissionDenied as e:
        raise HttpError(403, str(e))
    except services.ProjectError as e:
        raise HttpError(422, str(e))


@router.post("/projects", response={200: dict, 404: dict})  # 404: grid or compound outside the scope
def create_project(request, payload: ProjectIn):
    _staff(request)
    from gridgov.registry.models import Compound

    grid = GridNode.objects.visible_to(request.user).filter(code=payload.grid).first()
    if grid is None:
        raise Http404("no such grid")
    compound = None
    if payload.compound_id:
        compound = get_object_or_404(Compound.objects.visible_to(request.user), pk=payload.compound_id)
    d = payload.dict(exclude={"grid", "compound_id", "ticket_ids"})
    p = _errors(services.create_project, request.user, grid=grid, compound=compound, tickets=payload.ticket_ids, **d)
    return _project_row(p)


@router.get("/projects")
def list_projects(request):
    _staff(request)
    qs = ProactiveProject.objects.visible_to(request.user).select_related("grid", "compound").prefetch_related("milestones")
    return [_project_row(p) for p in qs]


def _project(request, pk) -> ProactiveProject:
    return get_object_or_404(ProactiveProject.objects.visible_to(request.user).select_related("grid", "compound"), pk=pk)


@router.get("/projects/{pk}")
def get_project(request, pk: int):
    """One project with its milestones and its effect (tickets of its place and category per
    month before it started and after it was completed)."""
    _staff(request)
    return _project_row(_project(request, pk), effect=True)


class MilestoneIn(Schema):
    title: str
    due_on: date | None = None


@router.post("/projects/{pk}/milestones")
def add_milestone(request, pk: int, payload: MilestoneIn):
    _staff(request)
    p = _project(request, pk)
    _errors(services.add_milestone, request.user, p, payload.title, payload.due_on)
    return _project_row(p)


class ProgressIn(Schema):
    progress: int
    done_on: date | None = None


@router.post("/projects/{pk}/milestones/{mid}")
def update_milestone(request, pk: int, mid: int, payload: ProgressIn):
    _staff(request)
    p = _project(request, pk)
    m = get_object_or_404(Milestone, pk=mid, project=p)
    _errors(services.update_milestone, request.user, m, payload.progress, payload.done_on)
    return _project_row(p)


class StatusIn(Schema):
    status: str
    on: date | None = None


@router.post("/projects/{pk}/status")
def set_status(request, pk: int, payload: StatusIn):
    _staff(request)
    p = _project(request, pk)
    p = _errors(services.set_project_status, request.user, p, payload.status, payload.on)
    return _project_row(_project(request, p.pk))
