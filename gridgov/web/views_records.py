"""Staff pages for one base record at a time: new, edit (optimistic lock), end, history.

The form is the kind's import row (registry.importers.RECORD_SPECS: the same columns, parsers
and checks); the views only read through `.visible_to` and call registry.services
(save_record / end_record / restore_record), which check the access table and keep the history."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts import policy
from gridgov.core import history
from gridgov.registry import importers, services

from .views import staff_required

#: history fields that are no import column, by name
_OTHER_LABELS = {
    "house": "住房", "building": "楼栋", "resident": "关联居民", "ended_on": "注销日期", "end_reason": "注销原因",
    "version": "版本", "community": "所属社区", "grids": "覆盖网格", "compounds": "服务小区",
}


def _kind(segment):
    kind = services.RECORD_KINDS.get(segment)
    if kind is None:
        raise Http404()
    return kind


def _visible(user, kind, pk):
    obj = kind.model.objects.visible_to(user).select_related("grid").filter(pk=pk).first()
    if obj is None:
        raise Http404(_("没有这条记录"))
    return obj


def detail_url(kind, obj) -> str:
    return f"/residents/{obj.pk}/" if kind.segment == "residents" else f"/records/{kind.segment}/{obj.pk}/"


def field_label(kind, name) -> str:
    spec = importers.RECORD_SPECS[kind.name]
    col = next((c for c in spec.columns if c.field == name), None)
    text = col.header if col is not None else _OTHER_LABELS.get(name, name)
    return gettext(text)


class Field:
    """One input of a record's form: an import column."""

    def __init__(self, kind, col, value, error, masked=""):
        self.name, self.label, self.required = col.field, gettext(col.header), col.required
        self.help = col.help
        self.personal = col.personal
        self.masked = masked
        choices = getattr(col.parse, "choices", None)
        self.choices = [(code, gettext(label)) for code, label in choices] if choices else None
        if self.choices and value not in ("", None):
            # a stored code or a label typed in: the option's code
            by_label = {label: code for code, label in choices}
            value = by_label.get(value, value)
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        self.value = "" if value is None else str(value)
        self.error = error
        self.date = col.parse is importers.p_date


def _fields(kind, values, errors, obj=None):
    spec = importers.RECORD_SPECS[kind.name]
    out = []
    for col in spec.columns:
        if col.field in ("address_text",) and kind.name == "houses":
            continue  # the export's column: ignored on import
        masked = getattr(obj, f"{col.field}_masked", "") if (obj is not None and col.personal) else ""
        out.append(Field(kind, col, values.get(col.field, ""), errors.get(col.field), masked))
    return out


def _display_row(kind, obj) -> dict:
    """The record's cells as the form shows them: personal fields never in plaintext."""
    spec = importers.RECORD_SPECS[kind.name]
    row = {}
    for col in spec.columns:
        if col.personal:
            row[col.field] = ""
        elif col.out is not None:
            row[col.field] = col.out(obj)
        else:
            v = getattr(obj, col.field, "")
            row[col.field] = "" if v is None else v
    if kind.name == "residents":
        row["tags"] = "、".join(obj.tag_labels)  # the import's words (the spreadsheets' Chinese)
    return row


def _submitted(kind, post) -> dict:
    spec = importers.RECORD_SPECS[kind.name]
    return {c.field: post.get(c.field, "").strip() for c in spec.columns if c.field in post}


def _changed(kind, obj, submitted: dict) -> dict:
    """The cells the editor changed: those differing from the record as the form showed it
    (a blank personal field keeps the stored value)."""
    shown = _display_row(kind, obj)
    out = {}
    for name, value in submitted.items():
        if name in {c.field for c in importers.RECORD_SPECS[kind.name].columns if c.personal}:
            if value:
                out[name] = value
            continue
        before = shown.get(name, "")
        if hasattr(before, "isoformat"):
            before = before.isoformat()
        choices = getattr(next(c for c in importers.RECORD_SPECS[kind.name].columns if c.field == name).parse,
                          "choices", None)
        if choices and before:
            before = {label: code for code, label in choices}.get(before, before)
        if value != ("" if before is None else str(before)):
            out[name] = value
    return out


def history_rows(kind, obj):
    rows = []
    for h in history.for_object(kind.name, obj.pk)[:200]:
        changes = [(field_label(kind, k), v[0], v[1]) for k, v in (h.changes or {}).items() if k != "version"]
        rows.append({"at": h.at, "actor": h.actor_name, "action": h.action, "changes": changes, "note": h.note})
    return rows


def panel_context(user, kind, obj) -> dict:
    """What the record's page shows besides its fields: may the user edit or end it, the end
    reasons, the history."""
    path = obj.grid.path if obj.grid_id else None
    return {
        "kind": kind,
        "obj": obj,
        "may_update": policy.allows(user, kind.policy, "update", path),
        "end_reasons": [(code, gettext(label)) for code, label in kind.end_reasons],
        "end_reason_label": gettext(dict(kind.end_reasons).get(obj.end_reason, obj.end_reason)),
        "history": history_rows(kind, obj),
        "edit_url": f"/records/{kind.segment}/{obj.pk}/edit/",
        "end_url": f"/records/{kind.segment}/{obj.pk}/end/",
    }


@staff_required
def record_detail(request, kind, pk):
    kind = _kind(kind)
    if kind.segment == "residents":
        return redirect(f"/residents/{pk}/")
    obj = _visible(request.user, kind, pk)
    spec = importers.RECORD_SPECS[kind.name]
    shown = _display_row(kind, obj)
    cells = []
    for col in spec.columns:
        value = getattr(obj, f"{col.field}_masked", "") if col.personal else shown.get(col.field, "")
        if getattr(col.parse, "choices", None) and value:
            value = gettext(str(value))
        cells.append((gettext(col.header), value))
    ctx = panel_context(request.user, kind, obj)
    ctx.update(cells=cells, title=str(obj), kind_label=gettext(kind.label))
    return render(request, "web/record_detail.html", ctx)


@staff_required
def record_new(request, kind):
    kind = _kind(kind)
    policy.require(request.user, kind.policy, "create")
    values, errors = {}, {}
    if request.method == "POST":
        values = _submitted(kind, request.POST)
        try:
            obj = services.save_record(request.user, kind, {k: v for k, v in values.items() if v != ""})
        except importers.RowInvalid as exc:
            errors = exc.errors
        except PermissionDenied:
            errors = {"grid": _("您无权在该网格登记")}
        else:
            return redirect(detail_url(kind, obj))
    return render(request, "web/record_form.html", {
        "kind": kind, "kind_label": gettext(kind.label), "fields": _fields(kind, values, errors),
        "errors": errors, "action": f"/records/{kind.segment}/new/", "title": _("新增"), "obj": None,
    }, status=400 if errors else 200)


@staff_required
def record_edit(request, kind, pk):
    kind = _kind(kind)
    obj = _visible(request.user, kind, pk)
    policy.require(request.user, kind.policy, "update", obj.grid.path if obj.grid_id else None)
    values, errors, conflict, version = _display_row(kind, obj), {}, None, obj.version
    status = 200
    if request.method == "POST":
        submitted = _submitted(kind, request.POST)
        values = {**values, **submitted}
        read = request.POST.get("version", "")
        try:
            read = int(read)
        except ValueError:
            read = None
        if read is None:
            errors = {"version": _("缺少版本号，请重新打开编辑页")}
        else:
            try:
                # compared with the record as it stands: when the version still matches, that
                # is what the editor read; when not, the compare-and-set refuses anyway
                obj = services.save_record(request.user, kind, _changed(kind, obj, submitted), obj=obj, version=read)
            except importers.RowInvalid as exc:
                errors, version = exc.errors, read
            except PermissionDenied:
                errors, version = {"grid": _("您无权把记录移到该网格")}, read
            except services.Conflict as exc:
                # nothing lost: the editor's input stays; the form now carries the version saved
                # by the other person, so saving again (after a look) applies this input over it
                obj = kind.model.objects.select_related("grid").get(pk=obj.pk)
                now = _display_row(kind, obj)
                conflict = {
                    "fields": [field_label(kind, f) for f in exc.fields], "by": exc.by, "other": exc.other,
                    "current": [(field_label(kind, f), getattr(obj, f"{f}_masked", None) or now.get(f, ""))
                                for f in exc.fields if f in now],
                }
                version = exc.version
            else:
                return redirect(detail_url(kind, obj))
        status = 409 if conflict else 400
    return render(request, "web/record_form.html", {
        "kind": kind, "kind_label": gettext(kind.label), "fields": _fields(kind, values, errors, obj),
        "errors": errors, "conflict": conflict, "version": version, "obj": obj,
        "action": f"/records/{kind.segment}/{obj.pk}/edit/", "title": _("编辑"),
    }, status=status)


@staff_required
@require_POST
def record_end(request, kind, pk):
    kind = _kind(kind)
    obj = _visible(request.user, kind, pk)
    try:
        if request.POST.get("restore"):
            services.restore_record(request.user, kind, obj, version=request.POST.get("version") or None)
        else:
            services.end_record(request.user, kind, obj, request.POST.get("reason", ""), request.POST.get("on") or None,
                                version=request.POST.get("version") or None, note=request.POST.get("note", "")[:255])
    except (importers.RowInvalid, services.Conflict) as exc:
        ctx = panel_context(request.user, kind, kind.model.objects.get(pk=obj.pk))
        ctx["end_error"] = (
            "；".join(exc.errors.values()) if isinstance(exc, importers.RowInvalid) else _("该记录已被他人修改，请刷新后重试")
        )
        ctx["title"] = str(obj)
        return render(request, "web/record_end_error.html", ctx, status=400 if isinstance(exc, importers.RowInvalid) else 409)
    return redirect(detail_url(kind, obj))
