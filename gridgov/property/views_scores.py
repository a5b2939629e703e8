"""Pages of the scores and rankings (scores slice).

Staff (under /property/):
* ``/property/`` — the board: a quarter's ranking (?quarter=YYYY-QN, default the last finished
  one) with the trend; every figure opens what is behind it (the inspections, the problems, the
  cases and tickets counted); publishing the quarter (property × update over every project).
  A property company's user lands on its own view.
* ``/property/projects/<id>/`` — a project's last four quarters.
* ``/property/projects/<id>/report/?quarter=`` — the quarterly report, printable; ``&format=xlsx``
  the same as a workbook.
* ``/property/projects/<id>/complaints/?quarter=`` — the cases and 12345 tickets counted in the
  data score (each opening its case or ticket page).
* ``/property/company/`` — the company's view: its projects, open and late problems, its scores
  this and last quarter with the rank, and what pulled them down.

Phone: ``/m/property/scores/`` — the company's view (or a staff member's projects) on the phone.

Views validate and call gridgov.property.scores."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts import policy
from gridgov.accounts.decorators import staff_required

from . import scores, services
from .models import Problem

m_login_required = login_required(login_url="/m/login/")

def _labels():
    return {"complaints": _("诉求量"), "resolution": _("解决率"), "satisfaction": _("满意度"),
            "rectification": _("整改情况")}


def _require_see(user):
    if not scores.may_see(user):
        raise PermissionDenied(_("您不能查看物业考评"))


def _quarter(request, default=None) -> str:
    raw = request.GET.get("quarter", "").strip()
    if not raw:
        return default or scores.last_finished_quarter()
    try:
        return services.quarter_key(raw)
    except services.PropertyError as exc:
        raise Http404(str(exc)) from None


def _quarter_choices(selected: str, n: int = 8) -> list[str]:
    cur = scores.current_quarter()
    out = scores.quarters_around(cur, n)[::-1]
    if selected not in out:
        out.append(selected)
    return out


def _is_company_only(user) -> bool:
    return not policy.allows(user, services.KIND, "list") and policy.holds(user, "property")


def _project(user, pk):
    p = services.projects_visible_to(user).filter(pk=pk).select_related("company").first()
    if p is None:
        raise Http404(_("物业项目不存在或无权查看"))
    return p


def _row(quarter, project, user):
    rows = scores.compute(quarter, projects=[project], user=user)
    return rows[0] if rows else None


@staff_required
def board(request):
    user = request.user
    _require_see(user)
    if _is_company_only(user):
        return redirect("/property/company/")
    quarter = _quarter(request)
    rows = scores.compute(quarter, user=user)
    snaps = {s.project_id: s for s in scores.published(quarter, user)}
    for r in rows:
        s = snaps.get(r["project"])
        r["published_rank"] = s.rank if s else None
        r["published_composite"] = s.composite if s else None
    return render(request, "property/scores/board.html", {
        "quarter": quarter, "quarters": _quarter_choices(quarter), "rows": rows, "labels": _labels(),
        "finished": scores.is_finished(quarter), "published": bool(snaps),
        "published_at": next(iter(snaps.values())).published_at if snaps else None,
        "may_publish": scores.may_publish(user), "weights": rows[0]["weights"] if rows else None,
    })


@staff_required
@require_POST
def publish(request):
    quarter = request.POST.get("quarter", "")
    try:
        quarter = services.quarter_key(quarter)
        snaps = scores.publish(request.user, quarter, force=request.POST.get("force") == "1")
    except services.PropertyError as exc:
        messages.error(request, str(exc))
        return redirect("/property/")
    messages.success(request, _("已发布 %(q)s 物业考评排名（%(n)s 个项目）") % {"q": quarter, "n": len(snaps)})
    return redirect(f"/property/?quarter={quarter}")


@staff_required
def project_page(request, pk):
    user = request.user
    _require_see(user)
    project = _project(user, pk)
    quarter = _quarter(request)
    history = []
    for q in scores.quarters_around(quarter, 4):
        r = _row(q, project, user)
        if r is not None:
            history.append(r)
    return render(request, "property/scores/project.html", {
        "project": project, "quarter": quarter, "quarters": _quarter_choices(quarter), "history": history,
        "row": history[-1] if history else None, "labels": _labels(),
        "down": scores.pulled_down(history[-1], quarter) if history else None,
    })


def _report(project, quarter, user):
    row = _row(quarter, project, user)
    if row is None:
        raise Http404(_("该项目在本季度不参与考评"))
    start, end = services.quarter_bounds(quarter)
    from .models import Inspection

    inspections = list(Inspection.objects.visible_to(user).filter(
        project=project, state=Inspection.State.SUBMITTED, submitted_at__gte=start, submitted_at__lt=end)
        .prefetch_related("deductions__indicator__category").order_by("submitted_at"))
    problems = list(Problem.objects.visible_to(user).filter(pk__in=row["parts"]["rectification"]["problem_ids"])
                    .select_related("indicator").order_by("opened_at"))
    return {"project": project, "quarter": quarter, "row": row, "inspections": inspections, "problems": problems,
            "down": scores.pulled_down(row, quarter), "labels": _labels(), "start": start,
            "end_day": timezone.localtime(end - timedelta(days=1)).date(),
            "finished": scores.is_finished(quarter)}


@staff_required
def report(request, pk):
    user = request.user
    _require_see(user)
    project = _project(user, pk)
    quarter = _quarter(request)
    ctx = _report(project, quarter, user)
    if request.GET.get("format") == "xlsx":
        data = report_xlsx(ctx)
        resp = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        resp["Content-Disposition"] = f'attachment; filename="property-{project.pk}-{quarter}.xlsx"'
        return resp
    return render(request, "property/scores/report.html", ctx)


def report_xlsx(ctx) -> bytes:
    """The quarterly report as a workbook (core.tabular: every cell made safe)."""
    from gridgov.core.tabular import Workbook

    row, labels = ctx["row"], ctx["labels"]
    wb = Workbook()
    s = wb.sheet(_("得分"))
    s.append([_("物业项目季度考评"), ctx["project"].name, ctx["quarter"]], bold=True)
    s.append([_("物业公司"), row["company"]])
    s.append([_("排名"), row["rank"], _("上季度排名"), row.get("prev_rank")])
    s.append([_("综合得分"), row["composite"], _("较上季度"), row.get("delta")])
    s.append([_("检查得分"), row["inspection_score"], _("检查次数"), row["n_inspections"]])
    s.append([_("数据得分"), row["data_score"]])
    s.append([_("权重：检查"), row["weights"]["inspection"], _("数据"), row["weights"]["data"]])
    s.append([])
    s.append([_("数据得分分项"), _("得分"), _("满分"), _("依据")], bold=True)
    p = row["parts"]
    c, r, sa, f = p["complaints"], p["resolution"], p["satisfaction"], p["rectification"]
    s.append([labels["complaints"], c["points"], c["full"],
              _("事件 %(cases)s 件、12345 工单 %(tickets)s 件，住户 %(households)s 户，每千户 %(rate)s 件（基准 %(ref)s）")
              % {k: c[k] for k in ("cases", "tickets", "households", "rate", "ref")}])
    s.append([labels["resolution"], r["points"], r["full"], _("已解决 %(resolved)s / %(complaints)s") % r])
    s.append([labels["satisfaction"], sa["points"], sa["full"],
              _("已评价 %(rated)s：满意 %(satisfied)s、基本满意 %(basic)s、不满意 %(unsatisfied)s") % sa])
    s.append([labels["rectification"], f["points"], f["full"],
              _("问题 %(problems)s 个：超期 %(late)s、复查未通过 %(reopened)s") % f])
    s2 = wb.sheet(_("检查扣分"))
    s2.append([_("检查日期"), _("得分"), _("指标"), _("扣分"), _("情况"), _("位置")], bold=True)
    for insp in ctx["inspections"]:
        day = timezone.localtime(insp.submitted_at).date()
        ds = list(insp.deductions.all())
        if not ds:
            s2.append([day, insp.score, "", "", "", ""])
        for d in ds:
            s2.append([day, insp.score, f"{d.indicator.code} {d.indicator.name}", d.points, d.note, d.place])
    s3 = wb.sheet(_("整改问题"))
    s3.append([_("编号"), _("问题"), _("发现时间"), _("期限"), _("状态"), _("超期"), _("复查未通过次数")], bold=True)
    for pr in ctx["problems"]:
        s3.append([pr.number, pr.description, timezone.localtime(pr.opened_at).replace(tzinfo=None),
                   timezone.localtime(pr.due_at).replace(tzinfo=None), pr.get_state_display(),
                   _("是") if pr.was_late else _("否"), pr.reopen_count])
    return wb.getvalue()


@staff_required
def complaints(request, pk):
    """The cases and tickets counted in a project's data score of a quarter."""
    from gridgov.cases.models import Case
    from gridgov.hotline.models import Ticket

    user = request.user
    _require_see(user)
    project = _project(user, pk)
    quarter = _quarter(request)
    row = _row(quarter, project, user)
    if row is None:
        raise Http404(_("该项目在本季度不参与考评"))
    c = row["parts"]["complaints"]
    cases = list(Case.objects.filter(pk__in=c["case_ids"]).select_related("item").order_by("created_at"))
    seen_cases = set(Case.objects.visible_to(user).filter(pk__in=c["case_ids"]).values_list("pk", flat=True))
    tickets = list(Ticket.objects.filter(pk__in=c["ticket_ids"]).order_by("received_at"))
    seen_tickets = set()
    if policy.allows(user, "tickets", "list"):
        seen_tickets = set(Ticket.objects.visible_to(user).filter(pk__in=c["ticket_ids"]).values_list("pk", flat=True))
    return render(request, "property/scores/complaints.html", {
        "project": project, "quarter": quarter, "row": row, "cases": cases, "tickets": tickets,
        "seen_cases": seen_cases, "seen_tickets": seen_tickets, "show": request.GET.get("show", ""),
    })


def company_context(user, quarter=None) -> dict:
    """The company's view: its projects with open and late problems, this and last quarter's
    scores and ranks, and what pulled them down."""
    now = timezone.now()
    quarter = quarter or scores.last_finished_quarter()
    prev = services.previous_quarter(quarter)
    current = scores.current_quarter()
    projects = list(services.projects_visible_to(user).select_related("company"))
    rows = {r["project"]: r for r in scores.compute(quarter, projects=projects, user=user)}
    prev_rows = {r["project"]: r for r in scores.compute(prev, projects=projects, user=user, trend=False)}
    live = {r["project"]: r for r in scores.compute(current, projects=projects, user=user, trend=False)}
    out = []
    for p in projects:
        open_ = Problem.objects.visible_to(user).filter(project=p).open()
        r = rows.get(p.pk)
        out.append({"project": p, "row": r, "prev": prev_rows.get(p.pk), "live": live.get(p.pk),
                    "open": open_.count(), "late": open_.late(now).count(),
                    "down": scores.pulled_down(r, quarter) if r else None})
    total = len(scores.ranked_projects(quarter))
    return {"quarter": quarter, "prev_quarter": prev, "current": current, "items": out, "labels": _labels(),
            "total": total}


@staff_required
def company(request):
    user = request.user
    _require_see(user)
    quarter = _quarter(request)
    return render(request, "property/scores/company.html", {**company_context(user, quarter),
                                                            "quarters": _quarter_choices(quarter)})


@m_login_required
def m_scores(request):
    user = request.user
    if not scores.may_see(user):
        raise PermissionDenied(_("您不能查看物业考评"))
    quarter = _quarter(request)
    return render(request, "property/scores/m_scores.html", {**company_context(user, quarter), "tab": "property",
                                                             "quarters": _quarter_choices(quarter, 4)})
