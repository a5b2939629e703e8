"""Staff pages for the territory and its base data. Views only read through `.visible_to`
and call services; they never filter rows by scope themselves."""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts import policy
from gridgov.accounts.decorators import staff_required
from gridgov.accounts.scope import may_see_personal_data
from gridgov.geo.levels import level_label, level_names
from gridgov.geo.models import GridNode
from gridgov.registry import models as reg
from gridgov.registry import services


@staff_required
def home(request):
    nodes = GridNode.objects.visible_to(request.user)
    top_level = min(nodes.values_list("level", flat=True), default=None)
    tops = nodes.filter(level__lte=(top_level or 0) + 1).order_by("level", "code") if top_level is not None else []
    current = Q(ended_on__isnull=True)  # ended records (moved out, demolished, ...) are not counted
    counts = {
        "residents": reg.Resident.objects.visible_to(request.user).filter(current).count(),
        "houses": reg.House.objects.visible_to(request.user).filter(current).count(),
        "organizations": reg.Organization.objects.visible_to(request.user).filter(current).count(),
        "places": reg.Place.objects.visible_to(request.user).filter(current).count(),
        "party_orgs": reg.PartyOrganization.objects.visible_to(request.user).filter(current).count(),
    }
    by_level = [
        (level_label(i), nodes.filter(level=i).count()) for i in range(len(level_names()))
    ]
    return render(request, "web/home.html", {"tops": tops, "counts": counts, "by_level": by_level})


def _visible_node(user, code) -> GridNode:
    node = GridNode.objects.visible_to(user).filter(code=code).select_related("parent").first()
    if node is None:
        raise Http404("没有这个网格")
    return node


@staff_required
def grid_detail(request, code):
    node = _visible_node(request.user, code)
    children = (
        GridNode.objects.visible_to(request.user)
        .filter(parent=node)
        .order_by("code")
    )
    from .views_duties import grid_duties

    people, duty_history = grid_duties(request.user, node)
    sub = Q(grid__path__startswith=node.path, ended_on__isnull=True)
    counts = {
        "residents": reg.Resident.objects.visible_to(request.user).filter(sub).count(),
        "houses": reg.House.objects.visible_to(request.user).filter(sub).count(),
        "organizations": reg.Organization.objects.visible_to(request.user).filter(sub).count(),
        "places": reg.Place.objects.visible_to(request.user).filter(sub).count(),
    }
    party = node.party_organizations.all()
    ancestors = node.ancestors()
    shapes = {
        "type": "FeatureCollection",
        "features": [
            _feature(n, "self" if n.pk == node.pk else "child") for n in [node, *children] if n.geom_wkt
        ],
    }
    return render(
        request,
        "web/grid_detail.html",
        {
            "node": node,
            "children": children,
            "people": people,
            "duty_history": duty_history,
            "counts": counts,
            "party": party,
            "ancestors": ancestors,
            "shapes": shapes,
        },
    )


def _feature(node, role):
    from shapely.geometry import mapping

    return {
        "type": "Feature",
        "geometry": mapping(node.geometry()),
        "properties": {"code": node.code, "name": node.name, "role": role},
    }


@dataclass
class Listing:
    """A list page of one kind of base record."""

    title: str  # (lazily translated, like the headers and filter labels)
    model: type
    columns: list  # (header, attribute path or callable)
    search: list  # fields searched with icontains (never encrypted fields)
    select: list = field(default_factory=list)
    filters: dict = field(default_factory=dict)  # GET param -> (label, choices, lookup)


def _choice(method):
    """A cell showing a choice whose labels stay Chinese in the model (the spreadsheets' words,
    marked with gettext_noop), translated when shown."""
    return lambda obj: gettext(getattr(obj, method)())


def _tags(resident):
    return gettext("、").join(gettext(t) for t in resident.tag_labels)


def _attr(obj, path):
    if callable(path):
        return path(obj)
    for part in path.split("."):
        obj = getattr(obj, part, None) if obj is not None else None
        if callable(obj):
            obj = obj()
    return "" if obj is None else obj


LISTINGS = {
    "residents": Listing(
        gettext_lazy("实有人口"),
        reg.Resident,
        [
            (gettext_lazy("姓名"), "name"),
            (gettext_lazy("性别"), _choice("get_gender_display")),
            (gettext_lazy("出生日期"), "birth_date"),
            (gettext_lazy("身份证号"), "id_number_masked"),
            (gettext_lazy("联系电话"), "phone_masked"),
            (gettext_lazy("住址"), "house.address.text"),
            (gettext_lazy("标签"), _tags),
            (gettext_lazy("网格"), "grid.name"),
        ],
        ["name", "household_no", "house__address__text"],
        ["grid", "house__address"],
        {"tag": (gettext_lazy("标签"), list(reg.Resident.TAGS.items()), "tags__icontains")},
    ),
    "houses": Listing(
        gettext_lazy("实有房屋"),
        reg.House,
        [
            (gettext_lazy("地址"), "address.text"),
            (gettext_lazy("用途"), _choice("get_use_display")),
            (gettext_lazy("面积(m²)"), "area_m2"),
            (gettext_lazy("居住"), _choice("get_occupancy_display")),
            (gettext_lazy("网格"), "grid.name"),
        ],
        ["address__text"],
        ["grid", "address"],
        {"occupancy": (gettext_lazy("居住情况"), reg.House.OCCUPANCY, "occupancy")},
    ),
    "organizations": Listing(
        gettext_lazy("实有单位"),
        reg.Organization,
        [
            (gettext_lazy("名称"), "name"),
            (gettext_lazy("类型"), _choice("get_kind_display")),
            (gettext_lazy("地址"), "address_text"),
            (gettext_lazy("联系人"), "contact_name"),
            (gettext_lazy("电话"), "phone_masked"),
            (gettext_lazy("网格"), "grid.name"),
        ],
        ["name", "address_text", "credit_code"],
        ["grid"],
        {"kind": (gettext_lazy("类型"), reg.Organization.KINDS, "kind")},
    ),
    "places": Listing(
        gettext_lazy("场所"),
        reg.Place,
        [
            (gettext_lazy("名称"), "name"),
            (gettext_lazy("类型"), _choice("get_kind_display")),
            (gettext_lazy("地址"), "address_text"),
            (gettext_lazy("开放时间"), "open_hours"),
            (gettext_lazy("网格"), "grid.name"),
        ],
        ["name", "address_text"],
        ["grid"],
        {"kind": (gettext_lazy("类型"), reg.Place.KINDS, "kind")},
    ),
    "party-orgs": Listing(
        gettext_lazy("党组织"),
        reg.PartyOrganization,
        [
            (gettext_lazy("名称"), "name"),
            (gettext_lazy("类型"), _choice("get_kind_display")),
            (gettext_lazy("书记"), "secretary_name"),
            (gettext_lazy("党员数"), "member_count"),
            (gettext_lazy("所在网格"), lambda p: gettext("、").join(g.name for g in p.grids.all())),
        ],
        ["name", "secretary_name"],
        ["grid"],
    ),
    "compounds": Listing(
        gettext_lazy("小区"),
        reg.Compound,
        [
            (gettext_lazy("名称"), "name"),
            (gettext_lazy("类型"), _choice("get_kind_display")),
            (gettext_lazy("社区"), "community.name"),
            (gettext_lazy("物业"), "property_company.name"),
            (gettext_lazy("网格"), "grid.name"),
        ],
        ["name"],
        ["grid", "community", "property_company"],
    ),
    "volunteers": Listing(
        gettext_lazy("楼门长与志愿者"),
        reg.Volunteer,
        [
            (gettext_lazy("姓名"), "name"),
            (gettext_lazy("类型"), _choice("get_kind_display")),
            (gettext_lazy("队伍"), "team.name"),
            (gettext_lazy("楼栋"), "building"),
            (gettext_lazy("电话"), "phone_masked"),
            (gettext_lazy("职责"), "duties"),
            (gettext_lazy("网格"), "grid.name"),
        ],
        ["name", "duties"],
        ["grid", "team", "building__compound"],
        {"kind": (gettext_lazy("类型"), reg.Volunteer.KINDS, "kind")},
    ),
    "buildings": Listing(
        gettext_lazy("楼栋"),
        reg.Building,
        [
            (gettext_lazy("名称"), "name"),
            (gettext_lazy("小区"), "compound.name"),
            (gettext_lazy("层数"), "floors"),
            (gettext_lazy("建成年份"), "year_built"),
            (gettext_lazy("网格"), "grid.name"),
        ],
        ["name", "compound__name"],
        ["grid", "compound"],
    ),
    "volunteer-teams": Listing(
        gettext_lazy("志愿服务队"),
        reg.VolunteerTeam,
        [
            (gettext_lazy("名称"), "name"),
            (gettext_lazy("类型"), _choice("get_kind_display")),
            (gettext_lazy("网格"), "grid.name"),
        ],
        ["name"],
        ["grid"],
        {"kind": (gettext_lazy("类型"), reg.VolunteerTeam.KINDS, "kind")},
    ),
    "property-projects": Listing(
        gettext_lazy("物业项目"),
        reg.PropertyProject,
        [
            (gettext_lazy("名称"), "name"),
            (gettext_lazy("物业"), "company.name"),
            (gettext_lazy("项目经理"), "manager_name"),
            (gettext_lazy("合同到期"), "contract_end"),
            (gettext_lazy("网格"), "grid.name"),
        ],
        ["name", "manager_name"],
        ["grid", "company"],
    ),
}


@staff_required
def record_list(request, kind):
    listing = LISTINGS.get(kind)
    if listing is None:
        raise Http404()
    policy.require(request.user, listing.model.policy_kind, "list")
    qs = listing.model.objects.visible_to(request.user).select_related(*listing.select)
    if kind == "party-orgs":
        qs = qs.prefetch_related("grids")
    q = request.GET.get("q", "").strip()
    if q:
        cond = Q()
        for f in listing.search:
            cond |= Q(**{f"{f}__icontains": q})
        qs = qs.filter(cond)
    grid_code = request.GET.get("grid", "").strip()
    grid = None
    if grid_code:
        grid = _visible_node(request.user, grid_code)
        qs = qs.filter(grid__path__startswith=grid.path)
    # ended records (moved out, died, demolished, ...) only on request
    ended = request.GET.get("ended", "") == "1"
    if not ended:
        qs = qs.filter(ended_on__isnull=True)
    active = {}
    for param, (label, choices, lookup) in listing.filters.items():
        value = request.GET.get(param, "")
        if value:
            active[param] = value
            qs = qs.filter(**{lookup: value})
    page = Paginator(qs.order_by("id"), 50).get_page(request.GET.get("page"))
    rows = [(obj, [_attr(obj, path) for _, path in listing.columns]) for obj in page.object_list]
    ctx = {
        "kind": kind,
        "listing": listing,
        "headers": [h for h, _ in listing.columns],
        "rows": rows,
        "page": page,
        "q": q,
        "grid": grid,
        "filters": [(p, lbl, [(code, gettext(name)) for code, name in ch], active.get(p, ""))
                    for p, (lbl, ch, _lookup) in listing.filters.items()],
        "detail": kind in services.RECORD_KINDS,
        "record_kind": kind in services.RECORD_KINDS,
        "ended": ended,
        "may_create": kind in services.RECORD_KINDS and policy.allows(
            request.user, services.RECORD_KINDS[kind].policy, "create"),
    }
    template = "web/_record_rows.html" if request.headers.get("HX-Request") else "web/record_list.html"
    return render(request, template, ctx)


@staff_required
def resident_detail(request, pk):
    resident = (
        reg.Resident.objects.visible_to(request.user)
        .select_related("grid", "house__address", "party_org")
        .filter(pk=pk)
        .first()
    )
    if resident is None:
        raise Http404("没有这个居民")
    household = (
        reg.Resident.objects.visible_to(request.user).filter(household_no=resident.household_no, ended_on__isnull=True)
        .exclude(pk=pk)
        if resident.household_no
        else []
    )
    from .views_records import panel_context

    ctx = panel_context(request.user, services.RECORD_KINDS["residents"], resident)
    ctx.update(
        r=resident,
        household=household,
        may_reveal=may_see_personal_data(request.user, resident.grid.path if resident.grid_id else None),
    )
    return render(request, "web/resident_detail.html", ctx)


@staff_required
@require_POST
def resident_reveal(request, pk, field):
    """HTMX: the plaintext of one personal field, audited by the service."""
    from gridgov.registry import services

    if field not in ("id_number", "phone"):
        raise Http404()
    resident = reg.Resident.objects.visible_to(request.user).filter(pk=pk).select_related("grid").first()
    if resident is None:
        raise Http404("没有这个居民")
    value = services.reveal(request.user, resident, field)
    return render(request, "web/_revealed.html", {"value": value})


# ---- imports and exports of base data ---------------------------------------------------


@staff_required
def imports(request):
    """Templates to download, an upload form, and the result: counts or the row errors."""
    from gridgov.registry.importers import SPECS, run_import

    kinds = [(k, gettext(s.label) if s.label else k) for k, s in SPECS.items() if policy.allows(request.user, k, "create")]
    if not kinds:
        raise PermissionDenied(_("无权导入数据"))
    result = None
    kind = request.POST.get("kind") or request.GET.get("kind") or ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if kind not in dict(kinds):
            result = {"ok": False, "message": _("请选择数据类型")}
        elif upload is None:
            result = {"ok": False, "message": _("请选择要导入的文件（.xlsx 或 .csv）")}
        else:
            res = run_import(kind, upload, filename=upload.name, update=bool(request.POST.get("update")), user=request.user)
            result = res.as_dict()
            if not res.ok:
                request.session["import_errors"] = result["errors"][:5000]
    return render(request, "web/imports.html", {"kinds": kinds, "result": result, "kind": kind})


@staff_required
def import_template(request, kind):
    from django.http import HttpResponse

    from gridgov.registry.importers import SPECS, write_template

    if kind not in SPECS:
        raise Http404()
    import io

    buf = io.BytesIO()
    write_template(kind, buf)
    resp = HttpResponse(buf.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = f'attachment; filename="template-{kind}.xlsx"'
    return resp


@staff_required
def import_errors(request):
    """The last failed import's error report, as xlsx."""
    import tempfile

    from django.http import HttpResponse

    from gridgov.registry.importers import RowIssue, write_error_report

    errors = request.session.get("import_errors") or []
    issues = [RowIssue(row=e["row"], column=e["column"], value=e["value"], reason=e["reason"]) for e in errors]
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as tmp:
        write_error_report(issues, tmp.name)
        data = open(tmp.name, "rb").read()
    resp = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = 'attachment; filename="import-errors.xlsx"'
    return resp


def _export_kinds(user):
    from gridgov.registry.importers import SPECS

    return [(k, gettext(s.label) if s.label else k) for k, s in SPECS.items() if policy.allows(user, k, "export")]


def _export_grids(user):
    """Grids to narrow an export to: the top two levels the user sees."""
    nodes = GridNode.objects.visible_to(user)
    top = min(nodes.values_list("level", flat=True), default=None)
    if top is None:
        return []
    return list(nodes.filter(level__lte=top + 1).order_by("level", "code").values_list("code", "name")[:300])


@staff_required
def exports(request):
    """GET: the export form and the user's recent exports. POST: start an export job (kind, and
    optionally a grid) and go to its page; the worker writes the file (registry.exporters)."""
    from django.shortcuts import redirect

    from gridgov.registry import exporters
    from gridgov.registry.models import ExportJob

    if request.method == "POST":
        from gridgov.registry.importers import SPECS

        kind = request.POST.get("kind", "")
        if kind not in SPECS:
            raise Http404()
        try:
            job = exporters.start_export(request.user, kind, request.POST.get("grid", "").strip())
        except GridNode.DoesNotExist:
            raise Http404() from None
        return redirect("web:export-job", job_id=job.pk)
    kinds = _export_kinds(request.user)
    if not kinds:
        raise PermissionDenied(_("无权导出数据"))
    labels = dict(kinds)
    jobs = list(ExportJob.objects.filter(requested_by=request.user)[:20])
    for j in jobs:
        j.label = labels.get(j.kind, j.kind)
    return render(request, "web/exports.html", {
        "kinds": kinds, "kind": request.GET.get("kind", ""), "grids": _export_grids(request.user), "jobs": jobs,
        "ttl_hours": round(exporters.ttl().total_seconds() / 3600),
    })


def _visible_job(user, job_id):
    from gridgov.registry.models import ExportJob

    job = ExportJob.objects.visible_to(user).select_related("requested_by").filter(pk=job_id).first()
    if job is None:
        raise Http404("没有这个导出")
    return job


@staff_required
def export_job(request, job_id):
    """An export's page: progress (rows written / total), refreshed every second by HTMX (or
    by the page itself without JavaScript) until the job ends; then the download link."""
    from gridgov.registry import exporters
    from gridgov.registry.importers import SPECS

    job = _visible_job(request.user, job_id)
    spec = SPECS.get(job.kind)
    ctx = {"job": job, "label": gettext(spec.label) if spec and spec.label else job.kind,
           "error": exporters.error_message(job), "expires": exporters.expires_at(job)}
    if request.headers.get("HX-Request"):
        return render(request, "web/_export_job.html", ctx)
    return render(request, "web/export_job.html", ctx)


@staff_required
def export_file(request, job_id):
    """The finished export's .xlsx: to the user who asked (or an administrator), 404 otherwise,
    and 404 once it has expired."""
    from django.http import FileResponse

    from gridgov.registry import exporters

    job = _visible_job(request.user, job_id)
    fh = exporters.open_for(request.user, job)
    if fh is None:
        raise Http404("导出文件不存在或已过期")
    return FileResponse(fh, as_attachment=True, filename=f"{job.kind}.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@staff_required
def export_kind(request, kind):
    """The former direct download: the export form with the kind chosen (an export is a job)."""
    from django.shortcuts import redirect

    return redirect(f"/exports/?kind={kind}" if kind.isidentifier() else "/exports/")


@staff_required
def two_factor(request):
    """Turn the TOTP second factor on (show a secret, confirm a code) or off. While it is on,
    turning it off or starting over needs a fresh code; its secret is never shown again."""
    from gridgov.accounts import services as account_services

    ctx = {}
    user = request.user
    if request.method == "POST":
        action = request.POST.get("action")
        code = request.POST.get("code", "")
        try:
            if action == "start":
                ctx["secret"], ctx["uri"] = account_services.start_totp(user, code)
            elif action == "confirm":
                if account_services.confirm_totp(user, code):
                    ctx.update(message=_("双重验证已开启。"), ok=True)
                else:
                    ctx.update(message=_("验证码不正确，请重试。"), ok=False)
                    pending = account_services.pending_totp_uri(user)
                    if pending:
                        ctx["secret"], ctx["uri"] = pending
            elif action == "disable":
                account_services.disable_totp(user, by=user, code=code)
                ctx.update(message=_("双重验证已关闭。"), ok=True)
        except account_services.WrongCode as exc:
            ctx.update(message=str(exc), ok=False)
    return render(request, "web/two_factor.html", ctx, status=400 if ctx.get("ok") is False else 200)
