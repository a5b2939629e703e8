"""Policy numbers administrators edit on the pages (/settings/): the registry of editable settings,
the value in force, and the one way to change one (a `SettingValue` row from a time, with history).

The value of a registered key in force at time T:

1. a Django setting of that name, when set (settings.py or a test's `override_settings`): the
   deployment fixes it and the pages say so;
2. else the latest `SettingValue` row of the key with `valid_from` <= T;
3. else the fallback of the key: the environment variable beside it, else its default (core.conf's
   table, or the hotline's RateSettings row).

So a row set on the page beats the environment, and an edit "from 1 May" takes effect on 1 May
without anyone touching it again.

Caching: each process keeps every row of the registered keys (they are few: one per human edit)
for `TTL_SECONDS` seconds, then reads them again; a save clears the saving process's copy at once
and again on commit. Another process sees a change within TTL_SECONDS (5 s): the documented delay.
Rows with a future `valid_from` are in the copy too, so they come into force on time.

`core.conf.get` (so cases.conf and core.ratelimit) asks `row_value(key)` between the Django
setting and the environment; `value(key)` gives the typed value (what other apps read, e.g.
`value("ACCOUNTS_REQUIRE_SECOND_FACTOR")` → bool)."""

import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

TTL_SECONDS = 5.0


@dataclass(frozen=True)
class Setting:
    key: str
    label: str
    #: int, float, bool, choice, rate ("COUNT/SECONDS", 0/… switches the limit off)
    type: str
    #: "module:function" giving the text value without a row (Django setting, env, default)
    fallback: str
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    help: str = ""
    #: keys edited together (checked together: the hotline's three weights sum to 1)
    group: str = ""
    env: str = ""
    default: str = ""

    def parse(self, text):
        """The typed value of `text` (ValueError with the reason, in Chinese, when invalid)."""
        text = str(text).strip()
        if self.type == "bool":
            low = text.lower()
            if low in ("1", "true", "yes", "on", "是"):
                return True
            if low in ("0", "false", "no", "off", "否", ""):
                return False
            raise ValueError(_("%(label)s：请选择是或否") % {"label": self.label})
        if self.type == "choice":
            if text not in [c for c, _label in self.choices]:
                raise ValueError(_("%(label)s：请从选项中选择") % {"label": self.label})
            return text
        if self.type == "rate":
            from gridgov.core.ratelimit import parse_limit

            try:
                count, seconds = parse_limit(text)
            except ValueError:
                raise ValueError(_("%(label)s：请写成“次数/秒数”，如 20/3600") % {"label": self.label}) from None
            self._bounds(count)
            return f"{count}/{seconds}"
        try:
            number = int(text) if self.type == "int" else float(text)
        except ValueError:
            raise ValueError(_("%(label)s：请填写数字") % {"label": self.label}) from None
        if not math.isfinite(number):
            raise ValueError(_("%(label)s：请填写数字") % {"label": self.label})
        self._bounds(number)
        return number

    def _bounds(self, number):
        if self.min is not None and number < self.min or self.max is not None and number > self.max:
            raise ValueError(_("%(label)s：须在 %(min)s 到 %(max)s 之间") % {
                "label": self.label, "min": f"{self.min:g}", "max": f"{self.max:g}"})

    def text(self, typed) -> str:
        """The stored text of a typed value."""
        if self.type == "bool":
            return "true" if typed else "false"
        if self.type == "float":
            return f"{typed:g}"
        return str(typed)


def env_fallback(key: str) -> str:
    """Django setting, else the key's environment variable, else its default."""
    s = REGISTRY[key]
    if hasattr(settings, key):
        return getattr(settings, key)
    return os.environ.get(s.env, s.default)


_RATE_HELP = _("次数/秒数，如 120/3600；0/3600 关闭该限制")
_CASES = _RATES = "gridgov.core.conf:fallback"
_HOTLINE = "gridgov.hotline.models:rate_fallback"
_ENV = "gridgov.core.settings_rows:env_fallback"

#: the editable settings, in the order the page shows them
SETTINGS = [
    Setting("CASES_RATING_REOPENS", _("不满意评价重办次数"), "int", _CASES, 0, 5,
            help=_("居民评价不满意时由原经办人重办的次数，用完后再不满意即升级")),
    Setting("CASES_RESOLVE_NOTE_MIN", _("处置说明最少字数"), "int", _CASES, 0, 200),
    Setting("CASES_RESOLVE_PHOTO", _("办结须上传处置照片"), "choice", _CASES,
            choices=(("on_site", _("到场处置的事件")), ("always", _("全部事件")), ("never", _("不要求")))),
    Setting("CASES_WARN_RATIO", _("时限预警比例"), "float", _CASES, 0.05, 1,
            help=_("时限用去这一比例时提醒经办人，如 0.8")),
    Setting("CASES_SUMMON_REPORT_HOURS", _("吹哨报到时限（工作小时）"), "float", _CASES, 0.5, 500),
    Setting("RATE_LIMIT_PER_DEVICE", _("公开上报限流：每台设备"), "rate", _RATES, 0, 1_000_000, help=_RATE_HELP),
    Setting("RATE_LIMIT_PER_ADDRESS", _("公开上报限流：每个网络地址"), "rate", _RATES, 0, 1_000_000, help=_RATE_HELP),
    Setting("RATE_LIMIT_LOOKUP", _("附近查询限流：每个用户或设备"), "rate", _RATES, 0, 1_000_000, help=_RATE_HELP),
    Setting("RATE_LIMIT_LOOKUP_PER_ADDRESS", _("附近查询限流：每个网络地址"), "rate", _RATES, 0, 1_000_000, help=_RATE_HELP),
    Setting("RATE_LIMIT_READS_PER_ADDRESS", _("公开查询限流：每个网络地址"), "rate", _RATES, 0, 1_000_000, help=_RATE_HELP),
    Setting("HOTLINE_RESPONSE_WEIGHT", _("12345 响应率权重"), "float", _HOTLINE, 0, 1, group="hotline_weights",
            help=_("三率权重之和须为 1")),
    Setting("HOTLINE_RESOLUTION_WEIGHT", _("12345 解决率权重"), "float", _HOTLINE, 0, 1, group="hotline_weights"),
    Setting("HOTLINE_SATISFACTION_WEIGHT", _("12345 满意率权重"), "float", _HOTLINE, 0, 1, group="hotline_weights"),
    Setting("HOTLINE_BASIC_WEIGHT", _("12345 基本满意折算"), "float", _HOTLINE, 0, 1,
            help=_("基本满意按满意的这一比例计")),
    Setting("HOTLINE_MIN_SAMPLE", _("12345 参与排名的最少工单数"), "int", _HOTLINE, 0, 1_000_000),
    Setting("HOTLINE_ADDRESS_THRESHOLD", _("12345 地址匹配采纳分数"), "float", _HOTLINE, 0, 1),
    Setting("HOTLINE_ADDRESS_MARGIN", _("12345 地址匹配领先幅度"), "float", _HOTLINE, 0, 1),
    Setting("VOLUNTEERS_PARTY_DEEDS_EXPECTED", _("党员每年应办实事（件）"), "int", _CASES, 0, 50,
            help=_("双报到党员每年为群众办实事的件数目标")),
    Setting("VOLUNTEERS_POINTS_EXPIRE_MONTHS", _("志愿积分有效期（月）"), "int", _CASES, 0, 240,
            help=_("积分在获得当月结束后这么多个月未使用即过期；0 为永不过期")),
    Setting("VOLUNTEERS_CHECKIN_RADIUS_M", _("活动签到半径（米）"), "int", _CASES, 20, 5000,
            help=_("新发布活动的默认定位签到半径")),
    Setting("DELIBERATION_QUORUM", _("议事会法定到会比例"), "float", _CASES, 0.01, 1,
            help=_("到会方占受邀方的比例不低于此值，议事会方可作出决定，如 0.5 或 0.67")),
    Setting("DELIBERATION_MAJORITY", _("议事会通过比例"), "float", _CASES, 0.01, 0.99,
            help=_("某一方案得票超过到会方的这一比例即通过，如 0.5 为过半数")),
    Setting("DELIBERATION_DISCUSSION_DAYS", _("每月一题讨论天数"), "int", _CASES, 1, 90,
            help=_("选为本月议题后开放讨论的默认天数")),
    Setting("PROPERTY_INSPECTION_WEIGHT", _("物业考评：检查得分权重"), "float", _CASES, 0, 1, group="property_weights",
            help=_("综合得分 = 检查得分 × 此权重 + 数据得分 × 数据权重；两者之和须为 1")),
    Setting("PROPERTY_DATA_WEIGHT", _("物业考评：数据得分权重"), "float", _CASES, 0, 1, group="property_weights"),
    Setting("PROPERTY_COMPLAINTS_REF", _("物业考评：投诉率基准（件/千户·季度）"), "float", _CASES, 1, 1000,
            help=_("每千户每季度物业类诉求达到此数时，诉求量一项得 0 分")),
    Setting("PROPERTY_ESCALATE_DAYS", _("物业整改超期升级至街道（工作日）"), "int", _CASES, 1, 60,
            help=_("整改问题超期后再过这么多个工作日仍未整改，升级至街道")),
    Setting("GRIDWORK_VISIT_DAYS_ELDERLY", _("走访周期：老年人（天）"), "int", _CASES, 1, 366,
            help=_("重点人群每人每隔这么多天应走访一次")),
    Setting("GRIDWORK_VISIT_DAYS_FRAIL", _("走访周期：困难/体弱（天）"), "int", _CASES, 1, 366),
    Setting("GRIDWORK_VISIT_DAYS_SICK", _("走访周期：重病/慢病（天）"), "int", _CASES, 1, 366),
    Setting("GRIDWORK_VISIT_DAYS_DISABLED", _("走访周期：残疾人（天）"), "int", _CASES, 1, 366),
    Setting("GRIDWORK_VISIT_DAYS_PREGNANT", _("走访周期：孕产妇（天）"), "int", _CASES, 1, 366),
    Setting("GRIDWORK_VISIT_DAYS_ALONE", _("走访周期：独居的重点人群（天）"), "int", _CASES, 1, 366,
            help=_("独居的重点人群按此周期（若更短）走访，如独居老人每月一次")),
    Setting("GRIDWORK_GRADE_A", _("网格员考核：A 档最低分"), "float", _CASES, 0, 100, group="gridwork_grades"),
    Setting("GRIDWORK_GRADE_B", _("网格员考核：B 档最低分"), "float", _CASES, 0, 100, group="gridwork_grades"),
    Setting("GRIDWORK_GRADE_C", _("网格员考核：C 档最低分"), "float", _CASES, 0, 100, group="gridwork_grades"),
    Setting("GRIDWORK_GRADE_D", _("网格员考核：D 档最低分"), "float", _CASES, 0, 100, group="gridwork_grades",
            help=_("低于 D 档最低分为 E 档；须 A > B > C > D")),
    Setting("GRIDWORK_MIN_SAMPLE", _("网格员考核：参与排名的最少样本"), "int", _CASES, 0, 100_000,
            help=_("考核期内上报、应办时限与办结事件合计少于此数的，只列分数、不参与排名")),
    Setting("GRIDWORK_MIN_DAYS", _("网格员考核：参与排名的最少在岗天数"), "int", _CASES, 0, 366),
    Setting("GRIDWORK_WORKLOAD_SPAN", _("网格员考核：工作量系数幅度"), "float", _CASES, 0, 0.5,
            help=_("按所管网格户数和事件量调整得分：工作量为全街平均两倍及以上时乘以 1 + 此值，为零时乘以 1 − 此值")),
    Setting("GRIDWORK_POINTS_PER_SCORE", _("网格员考核：非专职人员每分折算积分"), "float", _CASES, 0, 100,
            help=_("发布考核结果时，按积分发放岗位津贴的非专职网格员按得分乘以此数计入积分；0 为不计")),
    Setting("GRIDWORK_FOLLOW_UP_DAYS", _("矛盾纠纷办结后回访（天）"), "int", _CASES, 1, 180),
    Setting("ACCOUNTS_REQUIRE_SECOND_FACTOR", _("领导和管理员须开启双重验证"), "bool", _ENV,
            env="GRIDGOV_REQUIRE_SECOND_FACTOR", default="false"),
]
REGISTRY: dict[str, Setting] = {s.key: s for s in SETTINGS}


# --- the rows, cached per process -----------------------------------------------------------

_lock = threading.Lock()
_cache: dict = {"loaded": None, "rows": {}}


def clear_cache():
    """Forget this process's copy of the rows (after a save; tests start with it empty)."""
    with _lock:
        _cache["loaded"] = None


def _rows() -> dict[str, list[tuple]]:
    """{key: [(valid_from, value), ...] newest first} of the registered keys."""
    loaded = _cache["loaded"]
    if loaded is not None and time.monotonic() - loaded < TTL_SECONDS:
        return _cache["rows"]
    from .models import SettingValue

    rows: dict[str, list[tuple]] = {}
    try:
        for key, valid_from, value in (SettingValue.objects.filter(key__in=list(REGISTRY))
                                       .order_by("key", "-valid_from", "-id").values_list("key", "valid_from", "value")):
            rows.setdefault(key, []).append((valid_from, value))
    except DatabaseError:  # no table yet (migrating), or a broken transaction: the fallbacks hold
        return {}
    with _lock:
        _cache.update(loaded=time.monotonic(), rows=rows)
    return rows


def row_value(key: str, at=None) -> str | None:
    """The text of the row of `key` in force at `at` (default now), None without one (or for a
    key not in the registry)."""
    if key not in REGISTRY:
        return None
    at = at or timezone.now()
    for valid_from, value in _rows().get(key, ()):
        if valid_from <= at:
            return value
    return None


def fallback_text(key: str) -> str:
    """The value without any row: the Django setting, the environment, the default."""
    s = REGISTRY[key]
    module, name = s.fallback.split(":")
    return import_string(f"{module}.{name}")(key)


def fixed_by_deployment(key: str) -> bool:
    """A Django setting of that name wins over rows (the page says so)."""
    return hasattr(settings, key)


def value(key: str, at=None):
    """The typed value of `key` in force at `at`: Django setting, row, environment, default."""
    s = REGISTRY[key]
    if hasattr(settings, key):
        raw = getattr(settings, key)
        return raw if not isinstance(raw, str) else s.parse(raw)
    text = row_value(key, at)
    return s.parse(text if text is not None else fallback_text(key))


def pending(key: str, at=None) -> list[tuple]:
    """Rows of `key` not in force yet (valid_from after `at`), soonest first."""
    at = at or timezone.now()
    return sorted(((vf, v) for vf, v in _rows().get(key, ()) if vf > at), key=lambda r: r[0])


# --- changing them ------------------------------------------------------------------------------

#: {group: check(values in force after the change: {key: typed}) -> error message or None}
GROUP_CHECKS: dict[str, Callable] = {}


def _weights_sum_to_one(values: dict):
    total = sum(values[k] for k in ("HOTLINE_RESPONSE_WEIGHT", "HOTLINE_RESOLUTION_WEIGHT", "HOTLINE_SATISFACTION_WEIGHT"))
    if abs(total - 1) > 1e-6:
        return _("三率权重之和须为 1（现为 %(total)s）") % {"total": f"{total:g}"}
    return None


GROUP_CHECKS["hotline_weights"] = _weights_sum_to_one


def _property_weights_sum_to_one(values: dict):
    total = values["PROPERTY_INSPECTION_WEIGHT"] + values["PROPERTY_DATA_WEIGHT"]
    if abs(total - 1) > 1e-6:
        return _("物业考评两项权重之和须为 1（现为 %(total)s）") % {"total": f"{total:g}"}
    return None


GROUP_CHECKS["property_weights"] = _property_weights_sum_to_one


def _gridwork_grades_descend(values: dict):
    keys = ("GRIDWORK_GRADE_A", "GRIDWORK_GRADE_B", "GRIDWORK_GRADE_C", "GRIDWORK_GRADE_D")
    marks = [values[k] for k in keys]
    if any(a <= b for a, b in zip(marks, marks[1:])):
        return _("考核档次分数须逐档降低：A > B > C > D")
    return None


GROUP_CHECKS["gridwork_grades"] = _gridwork_grades_descend


#: callable(actor) raising PermissionDenied unless actor may update settings (accounts registers
#: the access table's settings × update: core sits below accounts and cannot ask it directly)
_permission = None


def register_permission(check) -> None:
    global _permission
    _permission = check


@transaction.atomic
def set_values(actor, values: dict, valid_from=None, note: str = "") -> list:
    """Administrators set settings from `valid_from` (default now): one SettingValue row and one
    history row (kind "settings", object the key) per key whose value changes. All or nothing:
    ValueError names the first bad value; PermissionDenied for anyone the policy table does not
    let update settings (settings × update, asked through the check the accounts app registers:
    `register_permission`; none registered refuses everyone). Returns the rows written."""
    from django.core.exceptions import PermissionDenied

    from . import history
    from .models import SettingValue

    if _permission is None:
        raise PermissionDenied("no settings permission check registered")
    _permission(actor)
    now = timezone.now()
    valid_from = valid_from or now
    unknown = sorted(set(values) - set(REGISTRY))
    if unknown:
        raise ValueError(_("没有这个设置：%(keys)s") % {"keys": ", ".join(unknown)})
    typed = {k: REGISTRY[k].parse(v) for k, v in values.items()}
    for group in {REGISTRY[k].group for k in typed if REGISTRY[k].group}:
        members = {s.key: (typed[s.key] if s.key in typed else value(s.key, valid_from))
                   for s in SETTINGS if s.group == group}
        problem = GROUP_CHECKS[group](members)
        if problem:
            raise ValueError(problem)
    written = []
    for key, new in typed.items():
        s = REGISTRY[key]
        old = value(key, valid_from)
        if old == new and not pending(key, valid_from):
            continue
        row = SettingValue.objects.create(key=key, value=s.text(new), valid_from=valid_from, changed_by=actor,
                                          changed_at=now, note=(note or "")[:255])
        history.record(actor, "settings", row, "update", {key: [s.text(old), s.text(new)]}, object_id=key,
                       note=f"自 {timezone.localtime(valid_from):%Y-%m-%d %H:%M} 起" + (f"：{note}" if note else ""))
        written.append(row)
    clear_cache()
    transaction.on_commit(clear_cache)
    return written


def describe(at=None) -> list[dict]:
    """Every registered setting as the page and the API show it."""
    at = at or timezone.now()
    out = []
    for s in SETTINGS:
        row = row_value(s.key, at)
        fixed = fixed_by_deployment(s.key)
        current = value(s.key, at)
        out.append({
            "key": s.key, "label": str(s.label), "type": s.type, "min": s.min, "max": s.max,
            "choices": [[c, str(label)] for c, label in s.choices], "help": str(s.help), "group": s.group,
            "value": current, "text": s.text(current),
            "source": "deployment" if fixed else ("row" if row is not None else "default"),
            "default": s.text(s.parse(fallback_text(s.key))),
            "pending": [{"valid_from": vf.isoformat(), "value": v} for vf, v in pending(s.key, at)],
        })
    return out
