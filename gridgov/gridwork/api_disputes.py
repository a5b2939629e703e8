"""The grid work API: the disputes slice (mounted at /api/gridwork/disputes). Views validate and
call gridgov.gridwork.disputes; errors answer {"detail": the Chinese message, "code"} with 400 /
403 / 404 / 409 (core.errors.api_call); a dispute the user cannot see answers 404. Parties'
phones are masked everywhere but in /phones (disputes × personal, every read audited).

* GET  /?community=&grid=&state=&kind=&risk=&period=&at_risk=1&overdue=1&q=   the ledger (at-risk first)
* GET  /counts?<the same filters>           counts: total, open, at_risk, overdue, by state, kind, grid, community
* POST /                                    {kind, summary, parties: [{name, phone, role, resident}], risk,
                                             place, lon, lat, crs | grid (id), case}: record one
* GET  /{id}                                one dispute (id or number) with parties (masked), sessions, history
* GET  /{id}/phones                         the parties' clear phones (disputes × personal; audited)
* POST /{id}/sessions                       {at, mediators: [{kind, name, user}], note, version}
* POST /{id}/end                            {outcome: agreed|referred|failed, text, referred_to, version}
* POST /{id}/follow-up                      {note, holds, version}
* POST /{id}/reopen                         {note, version}
* POST /{id}/risk                           {risk, note, version}"""

from ninja import Router, Schema

from gridgov.accounts import policy
from gridgov.core.errors import api_call

from . import disputes as svc
from .models import Dispute

router = Router(tags=["gridwork"])
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}
MAX_ROWS = 500


def _iso(v):
    return v.isoformat() if v is not None else None


def dispute_out(d: Dispute, *, full: bool = False, user=None) -> dict:
    out = {"id": d.pk, "number": d.number, "kind": d.kind, "kind_label": str(d.get_kind_display()),
           "risk": d.risk, "risk_label": str(d.get_risk_display()), "state": d.state,
           "state_label": str(d.get_state_display()), "summary": d.summary, "place": d.place,
           "grid_path": d.grid_path, "grid": d.grid.name if d.grid_id else "",
           "recorded_by": svc._actor_name(d.recorded_by), "recorded_at": _iso(d.recorded_at),
           "outcome": d.outcome, "referred_to": d.referred_to, "ended_at": _iso(d.ended_at),
           "follow_up_on": _iso(d.follow_up_on), "followed_up_at": _iso(d.followed_up_at),
           "case": d.case.number if d.case_id else None, "version": d.version,
           "at_risk": svc.at_risk(d), "lon": d.lon, "lat": d.lat}
    if full:
        out["parties"] = [{"id": p.pk, "name": p.name, "role": p.role, "phone": p.phone_masked,
                           "resident": p.resident_id} for p in d.parties.all()]
        out["sessions"] = [{"id": s.pk, "at": _iso(s.at), "mediators": s.mediators, "note": s.note}
                           for s in d.sessions.all()]
        out["history"] = [{"at": _iso(e.at), "actor": e.actor_name, "action": e.action, "from": e.from_state,
                           "to": e.to_state, "note": e.note, "data": e.data} for e in svc.history(d)]
        if user is not None:
            out["may"] = {"update": svc.may_update(user, d), "phones": svc.may_see_phones(user, d)}
    return out


class PartyIn(Schema):
    name: str
    phone: str = ""
    role: str = ""
    resident: int | None = None


class RecordIn(Schema):
    kind: str
    summary: str
    parties: list[PartyIn]
    risk: str = "low"
    place: str = ""
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    grid: int | None = None
    case: str | None = None


class MediatorIn(Schema):
    kind: str = "other"
    name: str = ""
    user: int | None = None


class SessionIn(Schema):
    at: str | None = None
    mediators: list[MediatorIn] = []
    note: str = ""
    version: int | None = None


class EndIn(Schema):
    outcome: str
    text: str = ""
    referred_to: str = ""
    version: int | None = None


class FollowUpIn(Schema):
    note: str
    holds: bool = True
    version: int | None = None


class NoteIn(Schema):
    note: str = ""
    version: int | None = None


class RiskIn(Schema):
    risk: str
    note: str = ""
    version: int | None = None


def _filters(request) -> dict:
    return {k: request.GET.get(k, "").strip() for k in svc.LEDGER_FILTERS}


@router.get("/", response={200: dict, **ERRORS})
def ledger(request):
    qs, err = api_call(svc.ledger, request.user, **_filters(request))
    if err:
        return err
    qs = qs.select_related("grid", "recorded_by", "case")
    return {"count": qs.count(), "items": [dispute_out(d) for d in qs[:MAX_ROWS]]}


@router.get("/counts", response={200: dict, **ERRORS})
def counts(request):
    qs, err = api_call(svc.ledger, request.user, **_filters(request))
    return err or svc.ledger_counts(qs)


def _case(user, number):
    if not number:
        return None
    from gridgov.cases.models import Case

    case = Case.objects.visible_to(user).filter(number=number).first()
    if case is None:
        raise svc.NotFound(f"事件不存在：{number}")
    return case


@router.post("/", response={200: dict, **ERRORS})
def create(request, data: RecordIn):
    def run():
        return svc.record_dispute(request.user, data.kind, data.summary, [p.dict() for p in data.parties],
                                  risk=data.risk, place=data.place, lon=data.lon, lat=data.lat, crs=data.crs,
                                  grid=data.grid, case=_case(request.user, data.case))

    d, err = api_call(run)
    return err or dispute_out(d, full=True, user=request.user)


@router.get("/{key}", response={200: dict, **ERRORS})
def detail(request, key: str):
    d, err = api_call(svc.get_dispute, request.user, key)
    return err or dispute_out(d, full=True, user=request.user)


@router.get("/{key}/phones", response={200: dict, **ERRORS})
def phones(request, key: str):
    policy.api_require(request, svc.KIND, "personal")
    d, err = api_call(svc.get_dispute, request.user, key)
    if err:
        return err
    items, err = api_call(svc.party_phones, request.user, d)
    return err or {"number": d.number, "parties": items}


def _act(request, key, fn, *args, **kwargs):
    if policy.reach(request.user, svc.KIND, "update") == policy.NEVER:  # no right anywhere: 403, not 404
        policy.api_require(request, svc.KIND, "create")
    d, err = api_call(svc.get_dispute, request.user, key)
    if err:
        return err
    _res, err = api_call(fn, request.user, d, *args, **kwargs)
    if err:
        return err
    return dispute_out(svc.get_dispute(request.user, d.pk), full=True, user=request.user)


@router.post("/{key}/sessions", response={200: dict, **ERRORS})
def session(request, key: str, data: SessionIn):
    return _act(request, key, svc.add_session, data.at, [m.dict() for m in data.mediators], data.note,
                version=data.version)


@router.post("/{key}/end", response={200: dict, **ERRORS})
def end(request, key: str, data: EndIn):
    return _act(request, key, svc.end_dispute, data.outcome, data.text, data.referred_to, version=data.version)


@router.post("/{key}/follow-up", response={200: dict, **ERRORS})
def follow_up(request, key: str, data: FollowUpIn):
    return _act(request, key, svc.follow_up, data.note, data.holds, version=data.version)


@router.post("/{key}/reopen", response={200: dict, **ERRORS})
def reopen(request, key: str, data: NoteIn):
    return _act(request, key, svc.reopen, data.note, version=data.version)


@router.post("/{key}/risk", response={200: dict, **ERRORS})
def risk(request, key: str, data: RiskIn):
    return _act(request, key, svc.set_risk, data.risk, data.note, version=data.version)
