"""The street's rules on the pages: the taxonomy (scenarios and items with their limits), the
routing rules and paths, the working calendar's local overrides and the policy settings. Views
read, validate the form and call the services (cases.taxonomy, cases.routing, cases.workcal,
core.settings_rows), which check the policy table and keep the history."""

from datetime import date, datetime

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import ValidationError

from gridgov.accounts import policy
from gridgov.accounts.models import Department
from gridgov.cases import routing, taxonomy, workcal
from gridgov.cases.models import (CalendarOverride, HandlerLevel, Item, LimitUnit, RoutingPath, RoutingRule,
                                  RoutingRuleHistory, Scenario, Urgency)
from gridgov.core import history, settings_rows
from gridgov.core.models import ChangeRecord, SettingValue

from .views import staff_required

CLOCKS = (("accept", gettext_lazy("受理时限")), ("arrive", gettext_lazy("到场时限")), ("resolve", gettext_lazy("处置时限")))


def _need(user, kind, action):
    if not policy.allows(user, kind, action):
        raise PermissionDenied(_("没有权限"))


# --- taxonomy -------------------------------------------------------------------------------------


def _item_form(post) -> dict:
    fields = {k: post.get(k, "").strip() for k in ("name", "keywords", "default_urgency", "department", "national_code")}
    for kind in ("accept", "arrive", "resolve"):
        fields[f"{kind}_limit"] = post.get(f"{kind}_limit", "").strip() or None
        fields[f"{kind}_unit"] = post.get(f"{kind}_unit", "")
    fields["volunteer_grabbable"] = post.get("volunteer_grabbable") == "on"
    return fields


def _taxonomy_context(user, **extra):
    return {
        "scenarios": Scenario.objects.prefetch_related("items"),
        "may_edit": taxonomy.may_edit(user),
        "clocks": CLOCKS, "units": LimitUnit.choices, "urgencies": Urgency.choices,
        "departments": Department.objects.filter(active=True).order_by("kind", "name"),
        **extra,
    }


@staff_required
def taxonomy_page(request):
    """Scenarios and their items with each clock's limit; administrators add a scenario or an item."""
    _need(request.user, "taxonomy", "list")
    error = None
    if request.method == "POST":
        try:
            if request.POST.get("what") == "scenario":
                taxonomy.save_scenario(request.user, None, code=request.POST.get("code", ""), name=request.POST.get("name", ""))
                return redirect("/taxonomy/")
            fields = _item_form(request.POST)
            item = taxonomy.save_item(request.user, None, scenario=request.POST.get("scenario", ""),
                                      code=request.POST.get("code", ""), **fields)
            return redirect(f"/taxonomy/items/{item.code}/")
        except ValueError as exc:
            error = str(exc)
    return render(request, "web/taxonomy.html", _taxonomy_context(request.user, error=error), status=400 if error else 200)


@staff_required
def taxonomy_item(request, code):
    """One item: its form (administrators) and its history."""
    _need(request.user, "taxonomy", "list")
    item = Item.objects.select_related("scenario").filter(code=code).first()
    if item is None:
        raise Http404(_("没有这个事项"))
    error, saved = None, False
    if request.method == "POST":
        try:
            fields = _item_form(request.POST)
            fields["scenario"] = request.POST.get("scenario", item.scenario.code)
            fields["active"] = request.POST.get("active") == "on"
            item = taxonomy.save_item(request.user, item, **fields)
            saved = True
        except ValueError as exc:
            error = str(exc)
    return render(request, "web/taxonomy_item.html", _taxonomy_context(
        request.user, item=item, error=error, saved=saved, history=taxonomy.item_history(item)[:200],
    ), status=400 if error else 200)


@staff_required
def taxonomy_scenario(request, code):
    """Rename, reorder or (de)activate a scenario (POST from the taxonomy page)."""
    _need(request.user, "taxonomy", "list")
    sc = Scenario.objects.filter(code=code).first()
    if sc is None:
        raise Http404(_("没有这个场景"))
    if request.method == "POST":
        try:
            taxonomy.save_scenario(request.user, sc, name=request.POST.get("name", sc.name),
                                   active=request.POST.get("active") == "on")
        except ValueError as exc:
            return render(request, "web/taxonomy.html", _taxonomy_context(request.user, error=str(exc)), status=400)
    return redirect("/taxonomy/")


# --- routing --------------------------------------------------------------------------------------


def _rule_from_post(rule, post):
    from gridgov.cases.api import RuleIn, _apply_rule

    try:
        body = RuleIn(
            item=post.get("item") or None, scenario=post.get("scenario") or None, urgency=post.get("urgency") or None,
            grid_level=post.get("grid_level") or None, start_time=post.get("start_time") or None,
            end_time=post.get("end_time") or None, path=post.get("path", ""), priority=post.get("priority") or 100,
            note=post.get("note", ""), active=post.get("active") == "on",
        )
    except ValidationError as exc:
        raise ValueError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
    _apply_rule(rule, body)


def _routing_context(user, **extra):
    return {
        "rules": RoutingRule.objects.select_related("item", "scenario", "path"),
        "paths": RoutingPath.objects.all(),
        "items": Item.objects.filter(active=True).order_by("code"), "scenarios": Scenario.objects.all(),
        "urgencies": Urgency.choices, "levels": HandlerLevel.choices,
        "may_edit": routing.may_edit_rules(user), **extra,
    }


@staff_required
def routing_page(request):
    """The rule table and the paths; administrators and leaders add a rule."""
    _need(request.user, "routing", "list")
    error = None
    if request.method == "POST":
        try:
            rule = RoutingRule()
            _rule_from_post(rule, request.POST)
            routing.save_rule(rule, request.user)
            return redirect("/routing/")
        except ValueError as exc:
            error = str(exc)
    return render(request, "web/routing.html", _routing_context(request.user, error=error), status=400 if error else 200)


@staff_required
def routing_rule(request, pk):
    """One rule: its form, delete, and its history."""
    _need(request.user, "routing", "list")
    rule = RoutingRule.objects.select_related("item", "scenario", "path").filter(pk=pk).first()
    if rule is None and request.method != "GET":
        raise Http404(_("没有这条规则"))
    error = None
    if request.method == "POST":
        try:
            if request.POST.get("delete"):
                routing.delete_rule(rule, request.user)
                return redirect("/routing/")
            _rule_from_post(rule, request.POST)
            routing.save_rule(rule, request.user)
            return redirect(f"/routing/rules/{rule.pk}/")
        except ValueError as exc:
            error = str(exc)
    hist = RoutingRuleHistory.objects.filter(rule_id=pk).select_related("user").order_by("-id")[:200]
    if rule is None and not hist:
        raise Http404(_("没有这条规则"))
    return render(request, "web/routing_rule.html", _routing_context(request.user, rule=rule, error=error, history=hist),
                  status=400 if error else 200)


def _steps_text(steps) -> str:
    return "\n".join(" + ".join(step) for step in steps)


def _parse_steps(text: str) -> list[list[str]]:
    return [[p.strip() for p in line.replace("，", "+").replace(",", "+").split("+") if p.strip()]
            for line in text.splitlines() if line.strip()]


@staff_required
def routing_path(request, code):
    """One path: its steps (one line a step; levels joined by +: the first handles, the others
    are informed), edited by administrators and leaders, and its history."""
    _need(request.user, "routing", "list")
    path = RoutingPath.objects.filter(code=code).first()
    if path is None:
        raise Http404(_("没有这个路径"))
    error, saved = None, False
    steps_text = _steps_text(path.steps)
    if request.method == "POST":
        steps_text = request.POST.get("steps", "")
        try:
            path = routing.save_path(path, request.user, name=request.POST.get("name", path.name),
                                     steps=_parse_steps(steps_text))
            saved, steps_text = True, _steps_text(path.steps)
        except ValueError as exc:
            error = str(exc)
    return render(request, "web/routing_path.html", {
        "path": path, "steps_text": steps_text, "error": error, "saved": saved, "levels": HandlerLevel.choices,
        "may_edit": routing.may_edit_rules(request.user), "history": routing.path_history(path)[:200],
    }, status=400 if error else 200)


# --- the working calendar -----------------------------------------------------------------------


@staff_required
def calendar_page(request):
    """Local holidays and make-up working days over the national calendar."""
    _need(request.user, "settings", "list")
    error = None
    if request.method == "POST":
        try:
            day = date.fromisoformat(request.POST.get("date", ""))
        except ValueError:
            error = _("请填写日期")
        else:
            if request.POST.get("remove"):
                workcal.remove_override(request.user, day)
            else:
                workcal.set_override(request.user, day, request.POST.get("is_workday") == "1", request.POST.get("note", ""))
            return redirect("/calendar/")
    return render(request, "web/calendar.html", {
        "overrides": CalendarOverride.objects.all(), "error": error,
        "may_edit": policy.allows(request.user, "settings", "update"),
        "history": ChangeRecord.objects.filter(kind="settings", object_id__startswith="calendar:")[:100],
    }, status=400 if error else 200)


# --- settings -------------------------------------------------------------------------------------


def _groups(described):
    """The settings as the page edits them: one form per group (the three weights together)."""
    groups, seen = [], {}
    for s in described:
        g = s["group"] or s["key"]
        if g not in seen:
            seen[g] = {"key": g, "settings": []}
            groups.append(seen[g])
        seen[g]["settings"].append(s)
    return groups


@staff_required
def settings_page(request):
    """Each policy setting, its value in force, edits waiting for their time, and the history;
    administrators set new values from a time (default now)."""
    _need(request.user, "settings", "list")
    error = None
    if request.method == "POST":
        keys = [k for k in request.POST.getlist("key") if k in settings_rows.REGISTRY]
        values = {}
        for k in keys:
            if settings_rows.REGISTRY[k].type == "bool":
                values[k] = "true" if request.POST.get(f"v_{k}") == "on" else "false"
            else:
                values[k] = request.POST.get(f"v_{k}", "")
        valid_from = None
        raw = request.POST.get("valid_from", "").strip()
        try:
            if raw:
                valid_from = timezone.make_aware(datetime.fromisoformat(raw), timezone.get_default_timezone())
            settings_rows.set_values(request.user, values, valid_from, request.POST.get("note", ""))
            return redirect("/settings/")
        except ValueError as exc:
            error = str(exc)
    described = settings_rows.describe()
    return render(request, "web/settings.html", {
        "groups": _groups(described), "error": error,
        "may_edit": policy.allows(request.user, "settings", "update"),
        "now": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "rows": SettingValue.objects.filter(key__in=list(settings_rows.REGISTRY)).select_related("changed_by")
                .order_by("-changed_at", "-id")[:300],
        "labels": {s.key: s.label for s in settings_rows.SETTINGS},
    }, status=400 if error else 200)
