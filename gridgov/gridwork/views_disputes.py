"""Pages of disputes (矛盾纠纷排查化解).

Staff (under /gridwork/disputes/, disputes × list):
* ``/gridwork/disputes/`` — the ledger: counts by community and by grid, the disputes (at-risk
  first), filters (community, grid, state, kind, risk, period, at risk, overdue follow-ups, text);
  ``?format=xlsx`` the filtered ledger as a workbook.
* ``/gridwork/disputes/new/`` — record one; ``/gridwork/disputes/<id>/`` a dispute: parties
  (masked; "查看电话" reveals them with disputes × personal, audited), sessions, history and the
  action forms (session, end, follow-up, reopen, risk).

Phone (under /m/gridwork/disputes/): my open disputes and those awaiting a follow-up, record one
on the spot (the position from the phone), a dispute with its action forms.

Views validate and call gridgov.gridwork.disputes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.geo import levels as gl
from gridgov.accounts import policy
from gridgov.accounts.decorators import staff_required

from . import disputes as svc
from .models import Dispute, MediationSession

m_login_required = login_required(login_url="/m/login/")
MAX_ROWS = 300
ACTIONS = ("session", "end", "follow_up", "reopen", "risk")


def _require_list(user):
    if not policy.allows(user, svc.KIND, "list"):
        raise PermissionDenied(_("您不能查看矛盾纠纷台账"))


def _filters(request) -> dict:
    return {k: request.GET.get(k, "").strip() for k in svc.LEDGER_FILTERS}


def _user_paths(user):
    """The paths of the user's scope; None for everything."""
    from gridgov.accounts.scope import scope_of

    s = scope_of(user)
    return None if s.everything else list(s.paths or [])


def _communities(user):
    from gridgov.geo.models import GridNode

    paths = _user_paths(user)
    qs = GridNode.objects.filter(level=gl.community_level()).order_by("code")
    return qs if paths is None else qs.filter(path__in=[svc.community_path(p) for p in paths])


@staff_required
def ledger(request):
    user = request.user
    _require_list(user)
    f = _filters(request)
    now = timezone.now()
    try:
        qs = svc.ledger(user, **f, now=now)
    except svc.DisputeError as exc:
        raise Http404(str(exc)) from None
    if request.GET.get("format") == "xlsx":
        resp = HttpResponse(svc.ledger_xlsx(qs, now),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        resp["Content-Disposition"] = f'attachment; filename="disputes-{timezone.localdate():%Y%m%d}.xlsx"'
        return resp
    counts = svc.ledger_counts(qs, now)
    rows = list(qs.select_related("grid", "recorded_by")[:MAX_ROWS])
    query = "&".join(f"{k}={v}" for k, v in f.items() if v)
    return render(request, "gridwork/disputes/ledger.html", {
        "rows": rows, "counts": counts, "f": f, "query": query, "truncated": counts["total"] > MAX_ROWS,
        "states": Dispute.State.choices, "kinds": Dispute.Kind.choices, "risks": Dispute.Risk.choices,
        "communities": _communities(user), "may_record": policy.allows(user, svc.KIND, "create"),
    })


def _grids(user):
    from django.db.models import Q

    from gridgov.geo.models import GridNode

    qs = GridNode.objects.filter(level__gte=gl.grid_level()).order_by("path")
    paths = _user_paths(user)
    if paths is None:
        return qs
    cond = Q(pk__in=[])
    for p in paths:
        cond |= Q(path__startswith=p)
    return qs.filter(cond)


def _parties_from(post) -> list[dict]:
    names, phones, roles = post.getlist("party_name"), post.getlist("party_phone"), post.getlist("party_role")
    return [{"name": n, "phone": (phones[i] if i < len(phones) else ""), "role": (roles[i] if i < len(roles) else "")}
            for i, n in enumerate(names) if n.strip()]


def _record(request, template, done):
    user = request.user
    if not policy.allows(user, svc.KIND, "create"):
        raise PermissionDenied(_("您不能登记矛盾纠纷"))
    form = {}
    if request.method == "POST":
        p = request.POST
        form = p
        try:
            d = svc.record_dispute(user, p.get("kind", ""), p.get("summary", ""), _parties_from(p),
                                   risk=p.get("risk") or "low", place=p.get("place", ""),
                                   lon=p.get("lon") or None, lat=p.get("lat") or None, crs=p.get("crs") or "wgs84",
                                   grid=p.get("grid") or None)
        except svc.DisputeError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("已登记纠纷 %(n)s") % {"n": d.number})
            return redirect(f"{done}{d.pk}/")
    return render(request, template, {"form": form, "kinds": Dispute.Kind.choices, "risks": Dispute.Risk.choices,
                                      "grids": _grids(user)[:500], "roles": ("申请人", "被申请人", "当事人")})


@staff_required
def new(request):
    return _record(request, "gridwork/disputes/new.html", "/gridwork/disputes/")


def _detail_ctx(user, d, phones=None, base="/gridwork/disputes/"):
    return {"d": d, "base": base, "parties": d.parties.all(), "sessions": d.sessions.all(), "events": svc.history(d),
            "at_risk": svc.at_risk(d), "may_update": svc.may_update(user, d), "may_phones": svc.may_see_phones(user, d),
            "phones": phones, "mediator_kinds": MediationSession.MediatorKind.choices, "risks": Dispute.Risk.choices,
            "referrals": svc.REFERRALS, "open": d.state in Dispute.OPEN_STATES,
            "awaiting": d.state in svc.OUTCOMES, "ended": d.state not in Dispute.OPEN_STATES}


def _get(user, pk):
    try:
        return svc.get_dispute(user, pk)
    except svc.NotFound:
        raise Http404(_("纠纷不存在或无权查看")) from None


@staff_required
def detail(request, pk):
    d = _get(request.user, pk)
    phones = None
    if request.method == "POST" and request.POST.get("reveal"):
        try:
            phones = svc.party_phones(request.user, d)
        except svc.Forbidden as exc:
            raise PermissionDenied(str(exc)) from None
    return render(request, "gridwork/disputes/detail.html", _detail_ctx(request.user, d, phones))


def _do(request, d, act):
    p, user = request.POST, request.user
    v = p.get("version") or None
    if act == "session":
        mediators = [{"kind": k, "name": n} for k, n in zip(p.getlist("mediator_kind"), p.getlist("mediator_name"))
                     if n.strip()]
        svc.add_session(user, d, p.get("at") or None, mediators, p.get("note", ""), version=v)
        return _("已记录调解过程")
    if act == "end":
        svc.end_dispute(user, d, p.get("outcome", ""), p.get("text", ""), p.get("referred_to", ""), version=v)
        return _("纠纷已结束，待回访")
    if act == "follow_up":
        holds = p.get("holds", "1") != "0"
        svc.follow_up(user, d, p.get("note", ""), holds=holds, version=v)
        return _("回访已记录") if holds else _("协议未履行，纠纷已重新调解")
    if act == "reopen":
        svc.reopen(user, d, p.get("note", ""), version=v)
        return _("纠纷已重新调解")
    if act == "risk":
        svc.set_risk(user, d, p.get("risk", ""), p.get("note", ""), version=v)
        return _("风险等级已调整")
    raise Http404


def _act(request, pk, act, done):
    if act not in ACTIONS:
        raise Http404
    d = _get(request.user, pk)
    try:
        messages.success(request, _do(request, d, act))
    except svc.DisputeError as exc:
        messages.error(request, str(exc))
    return redirect(f"{done}{d.pk}/")


@staff_required
@require_POST
def act(request, pk, act):
    return _act(request, pk, act, "/gridwork/disputes/")


# --- phone -----------------------------------------------------------------------------------


@m_login_required
def m_index(request):
    user = request.user
    if policy.reach(user, svc.KIND, "create") == policy.NEVER and not policy.allows(user, svc.KIND, "list"):
        raise PermissionDenied(_("您不能处理矛盾纠纷"))
    base = svc.annotated(Dispute.objects.visible_to(user))
    mine = base.filter(recorded_by=user) if not policy.allows(user, svc.KIND, "update") else base
    now = timezone.now()
    open_rows = list(mine.filter(state__in=Dispute.OPEN_STATES).order_by("-recorded_at")[:100])
    open_rows.sort(key=lambda d: not svc.at_risk(d, now))
    follow = list(mine.filter(state__in=svc.OUTCOMES).order_by("follow_up_on", "id")[:100])
    today = timezone.localdate()
    return render(request, "gridwork/disputes/m_index.html", {
        "open_rows": [(d, svc.at_risk(d, now)) for d in open_rows],
        "follow": [(d, d.follow_up_on is not None and d.follow_up_on < today) for d in follow],
        "may_record": policy.allows(user, svc.KIND, "create"),
    })


@m_login_required
def m_new(request):
    return _record(request, "gridwork/disputes/m_new.html", "/m/gridwork/disputes/")


@m_login_required
def m_detail(request, pk):
    d = _get(request.user, pk)
    return render(request, "gridwork/disputes/m_detail.html",
                  _detail_ctx(request.user, d, base="/m/gridwork/disputes/"))


@m_login_required
@require_POST
def m_act(request, pk, act):
    return _act(request, pk, act, "/m/gridwork/disputes/")
