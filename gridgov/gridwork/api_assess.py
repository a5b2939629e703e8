"""The grid work API: the assessment (mounted at /api/gridwork/assess). Views validate and call
gridgov.gridwork.assess / scheme; errors answer {"detail", "code"} with 400 / 403 / 404 / 409.
Every result is narrowed to the caller (assess.for_user): the street sees all, leaders and the
community their scope, a worker their own row.

* GET  /?period=2026-Q3&under=&as_of=YYYY-MM-DD   the assessment (2026-H1, 2026, 2026-07 too)
* GET  /evidence?period=&user=&formula=&which=num|den   the records behind one figure
* POST /marks                {period, user, mark, note}: a leader's mark
* POST /publish              {period}: keep the result as announced, pay the points (the street)
* GET  /snapshots            the periods published;  GET /snapshots/{period}: one, narrowed
* GET  /schemes              the schemes with their indicators;  POST /schemes {valid_from, name, note, indicators}
* POST /points-terms         {user, since, until, note}: a non-salaried worker paid by points (the street)"""

from datetime import date, datetime, time, timedelta

from django.utils import timezone
from ninja import Router, Schema
from ninja.responses import Status

from gridgov.accounts.models import User
from gridgov.core.errors import api_call

from . import assess, periods
from . import scheme as schemes
from .models import AssessmentSnapshot, Scheme

router = Router(tags=["gridwork"])
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}


def _period(text):
    try:
        return periods.parse(text)
    except periods.PeriodError as e:
        raise assess.AssessError(str(e), code="period") from None


def _deny_nobody(user):
    if assess.policy_reach(user, "list") == "never" and assess.policy_reach(user, "create") == "never":
        return Status(403, {"detail": "无权查看网格员考核", "code": "not_allowed"})
    return None


@router.get("/", response={200: dict, **ERRORS})
def result(request, period: str, under: str = "", as_of: date | None = None):
    denied = _deny_nobody(request.user)
    if denied:
        return denied
    p, err = api_call(_period, period)
    if err:
        return err
    moment = timezone.make_aware(datetime.combine(as_of + timedelta(days=1), time.min)) if as_of else None
    data = assess.assess(p, as_of=moment, under=under)
    snap = assess.published(p)
    data["published_at"] = snap.published_at.isoformat() if snap else None
    return assess.for_user(request.user, data)


@router.get("/evidence", response={200: dict, **ERRORS})
def evidence(request, period: str, user: int, formula: str, which: str = "den"):
    p, err = api_call(_period, period)
    if err:
        return err
    if which not in ("num", "den"):
        return Status(400, {"detail": "which: 应为 num 或 den", "code": "which"})
    if not assess.may_see(request.user, p, user):
        return Status(404, {"detail": "没有该网格员的考核或无权查看", "code": "not_found"})
    rows, err = api_call(assess.evidence, p, user, formula, which)
    if err:
        return err
    return {"period": p.key, "user": user, "formula": formula, "which": which, "count": len(rows),
            "rows": [dict(zip(("kind", "id", "label", "url"), r)) for r in assess.describe(rows)]}


class MarkIn(Schema):
    period: str
    user: int
    mark: float
    note: str = ""


@router.post("/marks", response={200: dict, **ERRORS})
def mark(request, body: MarkIn):
    worker = User.objects.filter(pk=body.user).first()
    if worker is None:
        return Status(404, {"detail": "没有该网格员", "code": "not_found"})
    lm, err = api_call(assess.set_leader_mark, request.user, worker, body.period, body.mark, body.note)
    return err or {"user": worker.pk, "period": lm.period, "mark": float(lm.mark), "note": lm.note}


class PeriodIn(Schema):
    period: str


@router.post("/publish", response={200: dict, **ERRORS})
def publish(request, body: PeriodIn):
    snap, err = api_call(assess.publish, request.user, body.period)
    return err or {"period": snap.period, "published_at": snap.published_at.isoformat(),
                   "workers": len(snap.data["workers"])}


@router.get("/snapshots", response={200: list[dict], **ERRORS})
def snapshots(request):
    denied = _deny_nobody(request.user)
    if denied:
        return denied
    return [{"period": s.period, "published_at": s.published_at.isoformat(), "scheme": s.scheme_id}
            for s in AssessmentSnapshot.objects.order_by("-period")]


@router.get("/snapshots/{period}", response={200: dict, **ERRORS})
def snapshot(request, period: str):
    denied = _deny_nobody(request.user)
    if denied:
        return denied
    s = AssessmentSnapshot.objects.filter(period=period).first()
    if s is None:
        return Status(404, {"detail": "该考核期尚未发布", "code": "not_found"})
    return {**assess.for_user(request.user, s.data), "published_at": s.published_at.isoformat()}


def scheme_out(s: Scheme) -> dict:
    return {"id": s.pk, "name": s.name, "valid_from": s.valid_from.isoformat(), "note": s.note,
            "frozen": s.frozen_at is not None, "indicators": schemes.indicators(s)}


@router.get("/schemes", response={200: list[dict], **ERRORS})
def scheme_list(request):
    denied = _deny_nobody(request.user)
    if denied:
        return denied
    schemes.ensure_default()
    return [scheme_out(s) for s in Scheme.objects.prefetch_related("indicators").order_by("-valid_from")]


class IndicatorIn(Schema):
    formula: str
    name: str = ""
    weight: float
    target: float = 1


class SchemeIn(Schema):
    valid_from: date
    name: str
    note: str = ""
    indicators: list[IndicatorIn]


@router.post("/schemes", response={201: dict, **ERRORS})
def scheme_create(request, body: SchemeIn):
    rows = [(i.formula, i.name, i.weight, i.target) for i in body.indicators]
    s, err = api_call(schemes.create_scheme, request.user, body.valid_from, body.name, rows, body.note)
    return err or Status(201, scheme_out(s))


class TermIn(Schema):
    user: int
    since: date
    until: date | None = None
    note: str = ""


@router.post("/points-terms", response={200: dict, **ERRORS})
def points_term(request, body: TermIn):
    u = User.objects.filter(pk=body.user).first()
    if u is None:
        return Status(404, {"detail": "没有该人员", "code": "not_found"})
    t, err = api_call(assess.set_points_term, request.user, u, body.since, body.until, body.note)
    return err or {"user": u.pk, "since": t.since.isoformat(), "until": t.until.isoformat() if t.until else None}
