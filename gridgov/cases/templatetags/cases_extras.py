"""Template helpers for case pages (workbench and H5): labels of timeline actions and the
time left on a clock, in the active language."""

from datetime import datetime, timezone as dt_timezone

from django import template
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, gettext_noop, pgettext_lazy

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


# --- states, sources and the routing reason as a reader sees them -------------------------------

#: where a case's item came from (Case.item_source, routing_reason["item"]["source"])
ITEM_SOURCES = {"reporter": gettext_lazy("上报人选择"), "classifier": gettext_lazy("自动识别"), "staff": gettext_lazy("工作人员指定")}
#: how someone follows a case (CaseFollower.source)
FOLLOW_SOURCES = {"reporter": gettext_lazy("上报人"), "joined": gettext_lazy("加入跟进"), "merged": gettext_lazy("合并转入")}


@register.filter
def state_label(state: str) -> str:
    """A case state in the active language (the raw code only if unknown)."""
    from gridgov.cases.models import State

    return str(State(state).label) if state in State.values else (state or "")


@register.filter
def item_source_label(source: str) -> str:
    return str(ITEM_SOURCES[source]) if source in ITEM_SOURCES else (source or "")


@register.filter
def follow_source_label(source: str) -> str:
    return str(FOLLOW_SOURCES[source]) if source in FOLLOW_SOURCES else (source or "")


@register.filter
def holds(user, relation: str) -> bool:
    """`{% if user|holds:"grab" %}`: the access policy's relations (accounts.policy.RELATIONS)."""
    from gridgov.accounts import policy

    return policy.holds(user, relation)


def _level_label(level: str) -> str:
    from gridgov.cases.models import HandlerLevel

    return str(HandlerLevel(level).label) if level in HandlerLevel.values else (level or "—")


def local_time(value) -> str:
    """An ISO time (as stored in a routing reason, in UTC) in local time: "2025-09-30 16:30"."""
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return value
    if at is None:
        return ""
    if timezone.is_naive(at):
        at = at.replace(tzinfo=dt_timezone.utc)
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def decision_text(d: dict) -> dict:
    """One routing decision (services._plan) as sentences: {"at", "text", "skipped", "informed"}."""
    path, h = d.get("path") or {}, d.get("handler") or {}
    who = (h.get("user") or {}).get("name") or h.get("department") or "—"
    params = {"path": path.get("name") or path.get("code", ""), "step": path.get("step", ""), "of": path.get("of", ""),
              "level": _level_label(h.get("level", "")), "who": who, "via": h.get("via", "")}
    if path.get("fallback"):
        text = gettext("路径“%(path)s”已无人可办，兜底交%(level)s %(who)s（%(via)s）") % params
    else:
        text = gettext("按路径“%(path)s”第 %(step)s/%(of)s 步，交%(level)s %(who)s（%(via)s）") % params
    rule = d.get("rule")
    if rule:
        text = gettext("依规则 #%(id)s%(note)s：") % {"id": rule.get("id", ""), "note": f"（{rule['note']}）" if rule.get("note") else ""} + text
    skipped = [gettext("跳过%(level)s：%(why)s") % {"level": _level_label(s.get("level", "")), "why": s.get("why", "")}
               for s in d.get("skipped") or []]
    informed = [f"{_level_label(i.get('level', ''))} {(i.get('user') or {}).get('name', '')}".strip() for i in d.get("informed") or []]
    return {"at": local_time(d.get("at")), "text": text, "skipped": skipped, "informed": informed}


@register.filter
def decisions(reason) -> list[dict]:
    """The routing decisions of a case's routing reason, oldest first, as `decision_text`."""
    return [decision_text(d) for d in (reason or {}).get("decisions") or [] if isinstance(d, dict)]


@register.filter
def resolve_needs_photo(case) -> bool:
    """Whether resolving the case needs a photo of the result (cases.services.resolve_needs_photo)."""
    from gridgov.cases.services import resolve_needs_photo as needs

    return needs(case)

def current_clocks(case, now=None) -> list[dict]:
    """The latest clock of each kind (accept, arrive, resolve) as `clock_view`s: what the
    workbench's rows and the phone's work list show (the case's clocks prefetched)."""
    from gridgov.cases.models import CASE_CLOCK_KINDS

    latest = {}
    for c in case.clocks.all():
        if c.kind in CASE_CLOCK_KINDS and c.summons_id is None and (c.kind not in latest or c.id > latest[c.kind].id):
            latest[c.kind] = c
    return [clock_view(latest[k], now) for k in CASE_CLOCK_KINDS if k in latest]
