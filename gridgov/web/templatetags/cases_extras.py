"""Template helpers for case pages (workbench and H5): labels of timeline actions and the
time left on a clock, in the active language."""

from django import template
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop, pgettext_lazy

from gridgov.cases import services

register = template.Library()

# the timeline's events (in English, past tense: the same Chinese words are also buttons)
ACTION_LABELS = {
    "submit": pgettext_lazy("timeline", "提交上报"),
    "dispatch": pgettext_lazy("timeline", "派单"),
    "reroute": pgettext_lazy("timeline", "改派"),
    "accept": pgettext_lazy("timeline", "受理"),
    "grab": pgettext_lazy("timeline", "志愿者接单"),
    "arrive": pgettext_lazy("timeline", "到场"),
    "resolve": pgettext_lazy("timeline", "处置完毕"),
    "verify": pgettext_lazy("timeline", "核查通过"),
    "rework": pgettext_lazy("timeline", "核查未通过，返工"),
    "close": pgettext_lazy("timeline", "结案"),
    "return": pgettext_lazy("timeline", "退回"),
    "escalate": pgettext_lazy("timeline", "升级"),
    "reopen": pgettext_lazy("timeline", "不满意，重办"),
    "merge": pgettext_lazy("timeline", "合并到其他事件"),
    "reject": pgettext_lazy("timeline", "不予受理"),
    "rate": pgettext_lazy("timeline", "评价"),
    "join": pgettext_lazy("timeline", "加入跟进"),
    "absorb": pgettext_lazy("timeline", "并入相同事件"),
    "summon": pgettext_lazy("timeline", "吹哨报到"),
    "report_back": pgettext_lazy("timeline", "部门报到"),
    "warn": pgettext_lazy("timeline", "即将超时预警"),
    "breach": pgettext_lazy("timeline", "超时"),
    "wait": pgettext_lazy("timeline", "等待人工分类"),
}
STAGE_LABELS = {"report": gettext_noop("上报"), "resolve": gettext_noop("处置")}
SYSTEM = gettext_noop("系统")  # the actor name of the sweep's events (cases.services)
SOMEONE = gettext_noop("居民")  # another reporter or follower, as a co-reporter sees them (services.view_for)


@register.filter
def action_label(action: str) -> str:
    return str(ACTION_LABELS[action]) if action in ACTION_LABELS else action


@register.filter
def actor_label(name: str) -> str:
    """Who acted, as the timeline shows it: the stored name, or "system" (or "a resident", for
    someone a co-reporter may not know) in the active language."""
    if name == SOMEONE:
        return gettext(SOMEONE)
    return gettext(SYSTEM) if not name or name == SYSTEM else name


@register.filter
def stage_label(stage: str) -> str:
    return gettext(STAGE_LABELS[stage]) if stage in STAGE_LABELS else stage


@register.filter
def translated(labels) -> list[str]:
    """Each label of a list (choice labels kept in Chinese, such as a resident's tags) in the
    active language: `{{ r.tag_labels|translated|join:_("、") }}`."""
    return [gettext(label) for label in labels or ()]


@register.filter
def reportable_by(summons, user) -> bool:
    """Whether `user` may report back on `summons` now (`services.may_report_back`): the case
    page then shows the report-back form."""
    return not summons.reported_at and services.may_report_back(user, summons)


def _span(seconds: float) -> str:
    s = abs(int(seconds))
    if s >= 86400:
        return gettext("%(days)d天%(hours)d小时") % {"days": s // 86400, "hours": (s % 86400) // 3600}
    if s >= 3600:
        return gettext("%(hours)d小时%(minutes)d分") % {"hours": s // 3600, "minutes": (s % 3600) // 60}
    return gettext("%(minutes)d分钟") % {"minutes": max(1, s // 60)}


def clock_view(clock, now=None) -> dict:
    """How a clock looks on the workbench: level ok / warn (past 80 %) / late (breached), and
    the time left or overdue (or how it ended when stopped: `stopped` is then true)."""
    now = now or timezone.now()
    kind = clock.get_kind_display()
    if clock.state == "stopped":
        late = clock.stopped_at and clock.stopped_at > clock.due_at
        return {"kind": kind, "level": "late" if late else "done", "stopped": True,
                "text": gettext("超时完成") if late else gettext("按时完成")}
    left = (clock.due_at - now).total_seconds()
    if clock.state == "breached" or left <= 0:
        return {"kind": kind, "level": "late", "stopped": False, "text": gettext("已超时%(span)s") % {"span": _span(left)}}
    level = "warn" if clock.state == "warned" or now >= clock.warn_at else "ok"
    return {"kind": kind, "level": level, "stopped": False, "text": gettext("剩%(span)s") % {"span": _span(left)}}


CASE_CLOCKS = ("accept", "arrive", "resolve")


def current_clocks(case, now=None) -> list[dict]:
    """The latest clock of each kind (accept, arrive, resolve) as `clock_view`s: what the
    workbench's rows and the phone's work list show (the case's clocks prefetched)."""
    latest = {}
    for c in case.clocks.all():
        if c.kind in CASE_CLOCKS and c.summons_id is None and (c.kind not in latest or c.id > latest[c.kind].id):
            latest[c.kind] = c
    return [clock_view(latest[k], now) for k in CASE_CLOCKS if k in latest]
