from django import template

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
SOURCE_LABELS = {"import": "市级分类", "classifier": "自动分类", "staff": "人工更正", "": "未分类"}


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
        was = f"（{SOURCE_LABELS.get(d.get('from_source') or '', '')}" + (f"，置信度 {conf:.2f}）" if conf is not None else "）")
        return f"分类由「{d.get('from') or '未分类'}」{was}改为「{d.get('to') or '—'}」"
    if a == "address":
        return f"确认标准地址「{d.get('address', '')}」，由「{d.get('from') or '未定位'}」归入「{d.get('to') or '—'}」"
    if a == "grid":
        return f"由「{d.get('from') or '未定位'}」指定到「{d.get('to') or '—'}」"
    if a == "project":
        return f"提出项目「{d.get('title', '')}」，关联 {d.get('tickets', 0)} 张工单"
    if a == "milestone":
        due = f"，计划 {d['due_on']} 完成" if d.get("due_on") else ""
        return f"新增节点「{d.get('milestone', '')}」{due}"
    if a == "progress":
        return f"节点「{d.get('milestone', '')}」进度 {d.get('from', 0)}% → {d.get('to', 0)}%"
    if a == "status":
        return f"状态「{_status(d.get('from'))}」→「{_status(d.get('to'))}」（{d.get('on', '')}）"
    return e.get_action_display()
