"""Template helpers for case pages (workbench and H5): labels of timeline actions and the
time left on a clock."""

from django import template
from django.utils import timezone

register = template.Library()

ACTION_LABELS = {
    "submit": "提交上报", "dispatch": "派单", "reroute": "改派", "accept": "受理", "grab": "志愿者接单",
    "arrive": "到场", "resolve": "处置完毕", "verify": "核查通过", "rework": "核查未通过，返工", "close": "结案",
    "return": "退回", "escalate": "升级", "reopen": "不满意，重办", "merge": "合并到其他事件", "reject": "不予受理",
    "rate": "评价", "join": "加入跟进", "absorb": "并入相同事件", "summon": "吹哨报到", "report_back": "部门报到",
    "warn": "即将超时预警", "breach": "超时", "wait": "等待人工分类",
}
STAGE_LABELS = {"report": "上报", "resolve": "处置"}


@register.filter
def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


@register.filter
def stage_label(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage)


def _span(seconds: float) -> str:
    s = abs(int(seconds))
    if s >= 86400:
        return f"{s // 86400}天{(s % 86400) // 3600}小时"
    if s >= 3600:
        return f"{s // 3600}小时{(s % 3600) // 60}分"
    return f"{max(1, s // 60)}分钟"


def clock_view(clock, now=None) -> dict:
    """How a clock looks on the workbench: level ok / warn (past 80 %) / late (breached), and
    the time left or overdue (or how it ended when stopped)."""
    now = now or timezone.now()
    kind = clock.get_kind_display()
    if clock.state == "stopped":
        late = clock.stopped_at and clock.stopped_at > clock.due_at
        return {"kind": kind, "level": "late" if late else "done", "text": "超时完成" if late else "按时完成"}
    left = (clock.due_at - now).total_seconds()
    if clock.state == "breached" or left <= 0:
        return {"kind": kind, "level": "late", "text": f"已超时{_span(left)}"}
    level = "warn" if clock.state == "warned" or now >= clock.warn_at else "ok"
    return {"kind": kind, "level": level, "text": f"剩{_span(left)}"}
