"""The grid work API: the week and the month (mounted at /api/gridwork/week). Views validate and
call gridgov.gridwork.week; errors answer {"detail", "code"} with 400 / 403 / 404 / 409.

* GET  /highlights?week=2026-01-05&community=path&picked=1   the highlights the user sees (newest weeks first)
* POST /highlights                    {worker (user id, default me), week (a day of it), title, text, ref_kind, ref_id}
* POST /highlights/{id}/pick          the community picks it as its week's best (moving an earlier pick)
* POST /highlights/{id}/unpick
* POST /highlights/{id}/withdraw      its author, until picked
* GET  /summaries?month=2026-07&subject=worker|grid|community&under=path   the month's summaries in scope
* GET  /summaries/one?subject=&key=&month=   one summary with its note (key: a user id or a node path)
* POST /summaries/note                        {subject, key, month, text, version}"""

from datetime import date

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import Router, Schema
from ninja.responses import Status

from gridgov.accounts.models import User
from gridgov.core.errors import api_call

from . import periods
from . import week as svc
from .models import Highlight

router = Router(tags=["gridwork"])
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}


def highlight_out(h: Highlight) -> dict:
    return {"id": h.pk, "worker": h.worker_id, "worker_name": str(h.worker), "author": str(h.author or ""),
            "week": h.week.isoformat(), "grid_path": h.grid_path, "community_path": h.community_path,
            "title": h.title, "text": h.text, "ref_kind": h.ref_kind, "ref_id": h.ref_id,
            "picked": h.picked_at is not None, "picked_at": h.picked_at.isoformat() if h.picked_at else None}


def _period(month: str):
    try:
        p = periods.parse(month)
    except periods.PeriodError as e:
        raise svc.WeekError(str(e), code="period") from None
    if p.kind != "month":
        raise svc.WeekError("month: 应为 2026-07 这样的月份", code="period")
    return p


@router.get("/highlights", response={200: list[dict], **ERRORS})
def highlights(request, week: date | None = None, community: str = "", picked: bool = False, limit: int = 200):
    qs = Highlight.objects.visible_to(request.user).select_related("worker", "author")
    if week:
        qs = qs.filter(week=periods.week_of(week))
    if community:
        qs = qs.filter(community_path=community)
    if picked:
        qs = qs.filter(picked_at__isnull=False)
    return [highlight_out(h) for h in qs.order_by("-week", "-picked_at", "-id")[: max(1, min(limit, 1000))]]


class HighlightIn(Schema):
    worker: int | None = None
    week: date
    title: str
    text: str = ""
    ref_kind: str = ""
    ref_id: int | None = None


@router.post("/highlights", response={201: dict, **ERRORS})
def mark(request, body: HighlightIn):
    worker = request.user if body.worker in (None, request.user.pk) else User.objects.filter(pk=body.worker).first()
    if worker is None:
        return Status(404, {"detail": "没有该网格员", "code": "not_found"})
    h, err = api_call(svc.mark_highlight, request.user, worker, body.week, body.title, body.text, body.ref_kind,
                      body.ref_id)
    return err or Status(201, highlight_out(h))


def _visible(request, pk) -> Highlight:
    h = Highlight.objects.visible_to(request.user).filter(pk=pk).first()
    if h is None:
        raise Http404
    return h


@router.post("/highlights/{pk}/pick", response={200: dict, **ERRORS})
def pick(request, pk: int):
    h, err = api_call(svc.pick_best, request.user, _visible(request, pk))
    return err or highlight_out(h)


@router.post("/highlights/{pk}/unpick", response={200: dict, **ERRORS})
def unpick(request, pk: int):
    h, err = api_call(svc.unpick, request.user, _visible(request, pk))
    return err or highlight_out(h)


@router.post("/highlights/{pk}/withdraw", response={200: dict, **ERRORS})
def withdraw(request, pk: int):
    _, err = api_call(svc.withdraw_highlight, request.user, _visible(request, pk))
    return err or {"withdrawn": pk}


@router.get("/summaries", response={200: dict, **ERRORS})
def summaries(request, month: str, subject: str = "worker", under: str = ""):
    p, err = api_call(_period, month)
    if err:
        return err
    if subject not in ("worker", "grid", "community"):
        return Status(400, {"detail": "subject: 应为 worker、grid 或 community", "code": "subject"})
    return {"month": p.key, "subject": subject, "figures": [{"key": k, "label": label} for k, label in svc.FIGURES],
            "rows": svc.summaries(request.user, p, subject, under)}


@router.get("/summaries/one", response={200: dict, **ERRORS})
def one(request, subject: str, key: str, month: str):
    p, err = api_call(_period, month)
    if err:
        return err
    try:
        return svc.summary(request.user, subject, key, p)
    except PermissionDenied:
        return Status(404, {"detail": "没有该月汇总或无权查看", "code": "not_found"})


class NoteIn(Schema):
    subject: str
    key: str
    month: str
    text: str
    version: int | None = None


@router.post("/summaries/note", response={200: dict, **ERRORS})
def note(request, body: NoteIn):
    p, err = api_call(_period, body.month)
    if err:
        return err
    r, err = api_call(svc.annotate, request.user, body.subject, body.key, p, body.text, body.version)
    return err or {"text": r.text, "version": r.version, "at": r.at.isoformat()}
