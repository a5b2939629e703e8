from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

register = template.Library()


@register.filter
def pct(v):
    """0.8147 → '81.47'; None → '—'."""
    return "—" if v is None else f"{v * 100:.2f}"


@register.filter
def pp(v):
    """A change of a rate in percentage points, signed."""
    return "—" if v is None else f"{v * 100:+.2f}"


@register.filter
def get(d, key):
    return d.get(key) if d else None


#: where a ticket's category came from, as the office says it
SOURCE_LABELS = {"import": gettext_lazy("市级分类"), "classifier": gettext_lazy("自动分类"), "staff": gettext_lazy("人工更正"),
                 "": gettext_lazy("未分类")}


@register.filter
def source_label(source):
    return SOURCE_LABELS.get(source or "", source)


def _status(code):
    from gridgov.hotline.models import ProactiveProject

    return dict(ProactiveProject.Status.choices).get(code, code or "—")


@register.filter
def event_text(e):
    """One history row (HotlineEvent) in words."""
    d, a = e.data or {}, e.action
    if a == "category":
        conf = d.get("from_confidence")
        source = str(SOURCE_LABELS.get(d.get("from_source") or "", ""))
        was = (_("（%(source)s，置信度 %(conf).2f）") % {"source": source, "conf": conf} if conf is not None
               else _("（%(source)s）") % {"source": source})
        return _("分类由「%(from)s」%(was)s改为「%(to)s」") % {"from": d.get("from") or _("未分类"), "was": was, "to": d.get("to") or "—"}
    if a == "address":
        return _("确认标准地址「%(address)s」，由「%(from)s」归入「%(to)s」") % {
            "address": d.get("address", ""), "from": d.get("from") or _("未定位"), "to": d.get("to") or "—"}
    if a == "grid":
        return _("由「%(from)s」指定到「%(to)s」") % {"from": d.get("from") or _("未定位"), "to": d.get("to") or "—"}
    if a == "project":
        return _("提出项目「%(title)s」，关联 %(n)s 张工单") % {"title": d.get("title", ""), "n": d.get("tickets", 0)}
    if a == "milestone":
        if d.get("due_on"):
            return _("新增节点「%(milestone)s」，计划 %(due)s 完成") % {"milestone": d.get("milestone", ""), "due": d["due_on"]}
        return _("新增节点「%(milestone)s」") % {"milestone": d.get("milestone", "")}
    if a == "progress":
        return _("节点「%(milestone)s」进度 %(from)s%% → %(to)s%%") % {
            "milestone": d.get("milestone", ""), "from": d.get("from", 0), "to": d.get("to", 0)}
    if a == "status":
        return _("状态「%(from)s」→「%(to)s」（%(on)s）") % {"from": _status(d.get("from")), "to": _status(d.get("to")), "on": d.get("on", "")}
    return e.get_action_display()


#: the placeholders `clusters` gives a place or a category it lacks (kept Chinese in its data,
#: keys and the report workbook; translated when a page shows them)
PLACEHOLDERS = {"未定位": gettext_lazy("未定位"), "未分类": gettext_lazy("未分类"), "待分类": gettext_lazy("待分类")}


@register.filter
def placeholder(value):
    """A cluster's place or category name, with the placeholders for none in the page's language."""
    return PLACEHOLDERS.get(value, value) if isinstance(value, str) else value
