"""Pages of the assessment: the board at /gridwork/ (a period's ranking of workers by duty, grids
and communities, every figure a link to its evidence; publish; leaders' marks), a worker's page,
the evidence behind a figure, the scheme page; the phone's "my assessment". Views validate and
call gridgov.gridwork.assess / scheme. A published period shows its result as announced."""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts.models import User

from . import assess, periods
from . import scheme as schemes
from .formulas import FORMULAS
from .models import Scheme

m_login_required = login_required(login_url="/m/login/")


def _require_any(user):
    if assess.policy_reach(user, "list") == "never" and assess.policy_reach(user, "create") == "never":
        raise PermissionDenied(_("无权查看网格员考核"))


def _period(text):
    if not text:
        return periods.period_of(timezone.localdate(), "quarter").previous()
    try:
        return periods.parse(text)
    except periods.PeriodError:
        raise Http404(_("无法识别的考核期")) from None


def choices(today: date | None = None) -> list[tuple[str, str]]:
    """The periods offered: the last four quarters, the last two half-years, this and last year."""
    today = today or timezone.localdate()
    q = periods.period_of(today, "quarter")
    out = []
    for _i in range(5):
        out.append((q.key, _("%(p)s 季度考核") % {"p": q.key}))
        q = q.previous()
    h = periods.period_of(today, "half")
    for _i in range(2):
        out.append((h.key, _("%(p)s 半年通报") % {"p": h.key}))
        h = h.previous()
    for y in (today.year, today.year - 1):
        out.append((str(y), _("%(p)s 年度评比") % {"p": y}))
    return out


def _result(user, p):
    snap = assess.published(p)
    data = snap.data if snap else assess.assess(p)
    return assess.for_user(user, data), snap


def _rows(data):
    inds = data["scheme"]["indicators"]
    for w in data["workers"]:
        w["cells"] = [(i["formula"], w["indicators"][i["formula"]]) for i in inds]
    for g in data["grids"] + data["communities"] + data.get("streets", []):
        g["cells"] = [(i["formula"], g["indicators"][i["formula"]]) for i in inds]
    duties = {}
    for w in data["workers"]:
        duties.setdefault(w["duty"], []).append(w)
    from gridgov.accounts.models import Duty

    return [(str(Duty(d).label) if d in Duty.values else d, rows) for d, rows in duties.items()]


@login_required
def board(request):
    _require_any(request.user)
    p = _period(request.GET.get("period", ""))
    data, snap = _result(request.user, p)
    groups = _rows(data)
    may_mark = assess.policy_reach(request.user, "update") != "never"
    return render(request, "gridwork/assess/board.html", {
        "p": p, "data": data, "snap": snap, "groups": groups, "choices": choices(),
        "may_publish": assess.policy_reach(request.user, "update") == "all" and p.end <= timezone.now(),
        "may_mark": may_mark and p.kind == "quarter", "print": request.GET.get("print") == "1"})


@login_required
@require_POST
def publish(request):
    p = _period(request.POST.get("period", ""))
    try:
        assess.publish(request.user, p)
        messages.success(request, _("%(p)s 考核结果已发布") % {"p": p.key})
    except (assess.AssessError, PermissionDenied) as e:
        messages.error(request, str(e) or _("无权操作"))
    return redirect(f"/gridwork/?period={p.key}")


@login_required
@require_POST
def mark(request):
    p = _period(request.POST.get("period", ""))
    worker = User.objects.filter(pk=request.POST.get("user") or 0).first()
    if worker is None:
        raise Http404
    try:
        assess.set_leader_mark(request.user, worker, p, request.POST.get("mark", ""), request.POST.get("note", ""))
        messages.success(request, _("已保存 %(name)s 的评价分") % {"name": worker})
    except (assess.AssessError, PermissionDenied) as e:
        messages.error(request, str(e) or _("无权操作"))
    return redirect(request.POST.get("next") or f"/gridwork/?period={p.key}")


@login_required
def worker(request, pk: int):
    _require_any(request.user)
    p = _period(request.GET.get("period", ""))
    data, snap = _result(request.user, p)
    row = next((w for w in data["workers"] if w["user_id"] == pk), None)
    if row is None:
        raise Http404
    inds = data["scheme"]["indicators"]
    cells = [(i, row["indicators"][i["formula"]]) for i in inds]
    trend = []
    q = p if p.kind == "quarter" else periods.period_of(p.last, "quarter")
    for _i in range(4):
        d, _s = _result(request.user, q)
        r = next((w for w in d["workers"] if w["user_id"] == pk), None)
        trend.append((q.key, r["score"] if r else None, r["grade"] if r else "", r["rank"] if r else None))
        q = q.previous()
    return render(request, "gridwork/assess/worker.html", {"p": p, "row": row, "cells": cells, "snap": snap,
                                                            "trend": trend})


@login_required
def evidence(request):
    _require_any(request.user)
    p = _period(request.GET.get("period", ""))
    formula, which = request.GET.get("formula", ""), request.GET.get("which", "den")
    try:
        user_id = int(request.GET.get("user", ""))
    except ValueError:
        raise Http404 from None
    if formula not in FORMULAS or which not in ("num", "den") or not assess.may_see(request.user, p, user_id):
        raise Http404
    worker = User.objects.filter(pk=user_id).first()
    if worker is None:
        raise Http404
    found, figure = assess.evidence(p, user_id, formula, which, figure=True)  # this worker alone
    rows = assess.describe(found)
    row = {"user_id": worker.pk, "name": str(worker)}
    snap = assess.published(p)  # a published period shows the figure as announced
    announced = next((w for w in snap.data["workers"] if w["user_id"] == user_id), None) if snap else None
    if announced is not None:
        row, figure = announced, announced["indicators"].get(formula, figure)
    return render(request, "gridwork/assess/evidence.html", {
        "p": p, "row": row, "formula": formula, "name": FORMULAS[formula][1], "which": which, "rows": rows[:2000],
        "total": len(rows), "figure": figure})


@login_required
def scheme_page(request):
    _require_any(request.user)
    may_edit = schemes.may_edit(request.user)
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied(_("只有管理员可以修改考核方案"))
        rows = []
        for f in FORMULAS:
            weight = (request.POST.get(f"weight_{f}") or "").strip()
            if weight and weight != "0":
                rows.append((f, request.POST.get(f"name_{f}", ""), weight, request.POST.get(f"target_{f}") or 1))
        try:
            valid_from = date.fromisoformat(request.POST.get("valid_from", ""))
            schemes.create_scheme(request.user, valid_from, request.POST.get("name", ""), rows,
                                  request.POST.get("note", ""))
            messages.success(request, _("考核方案已保存"))
            return redirect("/gridwork/scheme/")
        except ValueError as e:
            messages.error(request, str(e) or _("日期格式应为 YYYY-MM-DD"))
    schemes.ensure_default()
    current = schemes.scheme_for(periods.period_of(timezone.localdate(), "quarter"))
    weights = {i.formula: i for i in current.indicators.all()}
    form = [(f, name, weights.get(f)) for f, (_fn, name, _low) in FORMULAS.items()]
    return render(request, "gridwork/assess/scheme.html", {
        "schemes": Scheme.objects.prefetch_related("indicators").order_by("-valid_from"), "may_edit": may_edit,
        "form": form, "tomorrow": timezone.localdate() + timedelta(days=1)})


@m_login_required
def m_mine(request):
    _require_any(request.user)
    q = periods.period_of(timezone.localdate(), "quarter")
    out = []
    for p in (q, q.previous()):
        data, snap = _result(request.user, p)
        row = next((w for w in data["workers"] if w["user_id"] == request.user.pk), None)
        if row:
            cells = [(i["name"], row["indicators"][i["formula"]]) for i in data["scheme"]["indicators"]]
            out.append({"p": p, "row": row, "cells": cells, "snap": snap})
    return render(request, "gridwork/assess/m_mine.html", {"tab": "gridwork", "results": out})
