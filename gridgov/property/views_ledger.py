"""Pages of the problem ledger (立行改、回头看; the ledger slice).

Staff (under /property/problems/):
* ``/property/problems/`` — the ledger of the problems in scope (street staff per property × list;
  a company's users their company's), filtered by ?project=&state=&late=1&reopened=1&escalation=
  &quarter=2026Q3&category= (the board links here), the counts by state, each row's clock;
  ``&format=xlsx`` the filtered ledger as a workbook.
* ``/property/problems/<id>/`` — one problem: photos as found, answered and re-checked, the
  timeline, the re-check form (pass / fail with a note, photos and new days) and cancel for the
  street's staff, the answer form for the company's users.
* ``/property/problems/photos/<pk>/`` — a photo, for whoever sees its problem.

Phone (under /m/property/):
* ``/m/property/`` — a company's user: "my problems", open first (late ones first of all and
  marked) with their clocks; street staff: the answered problems waiting for their re-check.
* ``/m/property/problems/<id>/`` — one problem with the answer form (note, a photo from the
  camera, the phone's position) or the re-check form.

Views validate and call gridgov.property.services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts import policy
from gridgov.accounts.decorators import staff_required

from . import services
from .models import Indicator, Problem

m_login_required = login_required(login_url="/m/login/")
MAX_ROWS = 500
FLAGS = ("late", "reopened")


def max_upload() -> int:
    from gridgov.cases import conf

    return conf.get_int("CASES_MAX_PHOTO_BYTES")


def _may_see_ledger(user) -> bool:
    return policy.allows(user, services.KIND, "list") or policy.holds(user, "property")


def _is_company_only(user) -> bool:
    return not policy.allows(user, services.KIND, "list") and policy.holds(user, "property")


def _problem(user, pk) -> Problem:
    try:
        return services.get_problem(user, pk)
    except services.NotFound:
        raise Http404(_("问题不存在或无权查看")) from None


def _filters(request) -> dict:
    g = request.GET
    f = {k: g.get(k, "").strip() for k in services.LEDGER_FILTERS}
    for k in FLAGS:
        f[k] = "1" if services._flag(f[k]) else ""
    if f["quarter"]:
        try:
            f["quarter"] = services.quarter_key(f["quarter"])
        except services.PropertyError as exc:
            raise Http404(str(exc)) from None
    return f


def _rows(problems, now) -> list[dict]:
    return [{"p": p, "clock": services.clock_of(p, now)} for p in problems]


@staff_required
def ledger(request):
    user = request.user
    if not _may_see_ledger(user):
        raise PermissionDenied(_("您不能查看问题台账"))
    f = _filters(request)
    now = timezone.now()
    try:
        everything = services.ledger(user, **{**f, "state": ""}, now=now)
        qs = services.ledger(user, **f, now=now)
    except services.PropertyError as exc:
        raise Http404(str(exc)) from None
    if request.GET.get("format") == "xlsx":
        resp = HttpResponse(ledger_xlsx(qs, now),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        resp["Content-Disposition"] = f'attachment; filename="problems-{timezone.localdate():%Y%m%d}.xlsx"'
        return resp
    total = qs.count()
    query = "&".join(f"{k}={v}" for k, v in f.items() if v)
    base = "&".join(f"{k}={v}" for k, v in f.items() if v and k != "state")
    projects = services.projects_visible_to(user).select_related("company")
    categories = sorted(set(Indicator.objects.values_list("category__code", "category__name")))
    return render(request, "property/ledger/ledger.html", {
        "rows": _rows(qs[:MAX_ROWS], now), "total": total, "truncated": total > MAX_ROWS, "f": f,
        "counts": services.ledger_counts(everything), "states": Problem.State.choices, "query": query,
        "base": base, "projects": projects, "categories": categories,
        "project": projects.filter(pk=f["project"]).first() if f["project"].isdigit() else None,
    })


def ledger_xlsx(qs, now) -> bytes:
    """The filtered ledger as a workbook (core.tabular: every cell made safe)."""
    from gridgov.core.tabular import Workbook

    def local(v):
        return timezone.localtime(v).replace(tzinfo=None) if v else None

    wb = Workbook()
    s = wb.sheet(_("问题台账"))
    s.append([_("编号"), _("物业项目"), _("物业公司"), _("指标"), _("问题"), _("位置"), _("状态"), _("发现时间"),
              _("整改期限"), _("剩余工时"), _("回复时间"), _("办结时间"), _("升级"), _("曾超期"), _("复查未通过次数")],
             bold=True)
    for p in qs:
        c = services.clock_of(p, now)
        s.append([p.number, p.project.name, p.project.company.name, p.indicator.code if p.indicator else "",
                  p.description, p.place, p.get_state_display(), local(p.opened_at), local(p.due_at),
                  c["hours_left"], local(p.answered_at), local(p.closed_at), p.escalation,
                  _("是") if p.was_late else _("否"), p.reopen_count])
    return wb.getvalue()


def _action_labels() -> dict:
    return {"open": _("发现问题"), "answer": _("物业回复整改"), "pass": _("复查通过"), "fail": _("复查未通过"),
            "escalate": _("超期升级"), "cancel": _("撤销")}


def _detail(user, p: Problem, now=None, mobile: bool = False) -> dict:
    staff = services.may_recheck(user, p)
    labels = _action_labels()
    photos = services.photos_by_stage(p)
    stages = (("found", _("发现时")), ("answer", _("整改后")), ("recheck", _("复查时")))
    return {"problem": p, "clock": services.clock_of(p, now), "mobile": mobile,
            "action_base": f"/m/property/problems/{p.pk}/" if mobile else f"/property/problems/{p.pk}/",
            "photo_base": "/m/property/photos/" if mobile else "/property/problems/photos/",
            "photo_groups": [(k, label, photos.get(k, [])) for k, label in stages],
            "events": [(e, labels.get(e.action, e.action)) for e in p.events.order_by("at", "id")],
            "may_answer": p.state == Problem.State.OPEN and services.is_company_user(user, p.project),
            "may_recheck": p.state == Problem.State.ANSWERED and staff,
            "may_cancel": p.state in Problem.OPEN_STATES and staff}


@staff_required
def problem_page(request, pk):
    p = _problem(request.user, pk)
    return render(request, "property/ledger/problem.html", _detail(request.user, p))


def _files(request) -> list[bytes]:
    return [f.read(max_upload() + 1) for f in request.FILES.getlist("photos")]


def _version(request):
    raw = (request.POST.get("version") or "").strip()
    return int(raw) if raw.isdigit() else None


def _answer(request, p):
    lon, lat = services.position(request.POST.get("lon"), request.POST.get("lat"), request.POST.get("crs", "wgs84"))
    return services.answer_problem(request.user, p, note=request.POST.get("note", ""), photos=_files(request),
                                   lon=lon, lat=lat, expected_version=_version(request))


def _recheck(request, p):
    passed = request.POST.get("passed") == "1"
    days = None if passed else services.parse_days(request.POST.get("days"))
    return services.recheck_problem(request.user, p, passed=passed, note=request.POST.get("note", ""),
                                    photos=_files(request), days=days, expected_version=_version(request))


def _cancel(request, p):
    return services.cancel_problem(request.user, p, reason=request.POST.get("reason", ""),
                                   expected_version=_version(request))


def _act(request, pk, fn, done: str, template: str, back: str, extra=None):
    """Run `fn(request, problem)`; on error show the problem page again with the message."""
    p = _problem(request.user, pk)
    try:
        fn(request, p)
    except services.PropertyError as exc:
        p = _problem(request.user, pk)
        ctx = {**_detail(request.user, p, mobile=template.endswith("m_problem.html")), "error": str(exc),
               **(extra or {})}
        return render(request, template, ctx, status=exc.status)
    messages.success(request, done)
    return redirect(back.format(pk=pk))


@staff_required
@require_POST
def answer(request, pk):
    return _act(request, pk, _answer, _("已回复整改，等待复查"), "property/ledger/problem.html",
                "/property/problems/{pk}/")


@staff_required
@require_POST
def recheck(request, pk):
    return _act(request, pk, _recheck, _("已记录复查结果"), "property/ledger/problem.html", "/property/problems/{pk}/")


@staff_required
@require_POST
def cancel(request, pk):
    return _act(request, pk, _cancel, _("问题已撤销"), "property/ledger/problem.html", "/property/problems/{pk}/")


@login_required
def photo(request, pk):
    """A problem's photo: whoever sees the problem."""
    try:
        ph = services.photo_for(request.user, pk)
    except services.NotFound:
        raise Http404(_("没有这张照片")) from None
    return FileResponse(ph.file.open("rb"), content_type=ph.content_type or "image/jpeg")


# --- phone -------------------------------------------------------------------------------------


@m_login_required
def m_home(request):
    """A company's user: my problems (open first, late ones first); staff: those to re-check."""
    user = request.user
    if not _may_see_ledger(user):
        raise PermissionDenied(_("您不能查看问题台账"))
    now = timezone.now()
    company = _is_company_only(user)
    if company:
        rows = _rows(services.ledger(user, now=now)[:200], now)
    else:
        rows = _rows(services.awaiting_recheck(user)[:200], now)
    return render(request, "property/ledger/m_home.html", {"tab": "property", "rows": rows, "company": company})


@m_login_required
def m_problem(request, pk):
    p = _problem(request.user, pk)
    return render(request, "property/ledger/m_problem.html", {**_detail(request.user, p, mobile=True),
                                                              "tab": "property"})


@m_login_required
@require_POST
def m_answer(request, pk):
    return _act(request, pk, _answer, _("已回复整改，等待复查"), "property/ledger/m_problem.html",
                "/m/property/?answered={pk}", {"tab": "property"})


@m_login_required
@require_POST
def m_recheck(request, pk):
    return _act(request, pk, _recheck, _("已记录复查结果"), "property/ledger/m_problem.html",
                "/m/property/?rechecked={pk}", {"tab": "property"})
