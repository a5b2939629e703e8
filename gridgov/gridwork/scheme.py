"""The assessment scheme as data (考核方案): which indicators count and their weights, from a date.

The scheme of a period is the latest one valid on the period's first day; with none at all, the
default below is created, valid from 2000-01-01. A street changes the scheme by creating a new one
from a later date (`create_scheme`): periods before it keep theirs. A scheme is frozen when a
period assessed under it is published, and a new scheme may not start on or before the last day
of a published period."""

from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.core import history
from gridgov.core.errors import CodedError

from .formulas import FORMULAS
from .models import AssessmentSnapshot, Scheme, SchemeIndicator

#: the default scheme: (formula, name, weight, target)
DEFAULT = (
    ("valid_reports", "有效上报率", 10, 1),
    ("on_time", "按时办结率", 20, 1),
    ("rework", "返工率（低为优）", 10, 1),
    ("satisfaction", "群众满意率", 20, 1),
    ("visit_coverage", "重点人群走访覆盖率", 15, Decimal("0.95")),
    ("patrol_coverage", "巡查覆盖率", 10, Decimal("0.9")),
    ("disputes", "矛盾纠纷化解率", 5, Decimal("0.9")),
    ("leader_mark", "领导评价", 10, 1),
)
DEFAULT_FROM = date(2000, 1, 1)


class SchemeError(CodedError, ValueError):
    pass


def may_edit(user) -> bool:
    from gridgov.accounts import policy

    return policy.reach(user, "gridwork", "update") == policy.ALL


def ensure_default() -> Scheme:
    s = Scheme.objects.filter(valid_from=DEFAULT_FROM).first()
    if s:
        return s
    with transaction.atomic():
        s, created = Scheme.objects.get_or_create(valid_from=DEFAULT_FROM, defaults={
            "name": "网格员季度考核（默认方案）", "created_at": timezone.now()})
        if created:
            _indicators(s, DEFAULT)
    return s


def _indicators(scheme, rows):
    SchemeIndicator.objects.bulk_create([
        SchemeIndicator(scheme=scheme, formula=f, name=n, weight=Decimal(str(w)), target=Decimal(str(t)), position=i)
        for i, (f, n, w, t) in enumerate(rows)])


def scheme_for(period) -> Scheme:
    s = Scheme.objects.filter(valid_from__lte=period.first).order_by("-valid_from").first()
    return s or ensure_default()


def check(rows) -> list[tuple]:
    """The rows (formula, name, weight, target) cleaned; SchemeError says what is wrong."""
    out, seen = [], set()
    for n, row in enumerate(rows, 1):
        f, name, weight, target = (list(row) + [1])[:4] if len(row) == 3 else row
        if f not in FORMULAS:
            raise SchemeError(_("第 %(n)s 项：没有公式 %(f)s"), code="bad_formula", n=n, f=f)
        if f in seen:
            raise SchemeError(_("第 %(n)s 项：公式 %(f)s 重复"), code="duplicate", n=n, f=f)
        seen.add(f)
        try:
            w, t = Decimal(str(weight)), Decimal(str(target))
        except Exception:
            raise SchemeError(_("第 %(n)s 项：权重或目标值不是数字"), code="bad_number", n=n) from None
        if w <= 0 or not (0 < t <= 1):
            raise SchemeError(_("第 %(n)s 项：权重须大于 0，目标值须在 0 与 1 之间"), code="bad_number", n=n)
        out.append((f, (name or FORMULAS[f][1]).strip()[:60], w, t))
    total = sum(r[2] for r in out)
    if total != 100:
        raise SchemeError(_("各项权重之和须为 100（现为 %(total)s）"), code="weights", total=f"{total:g}")
    return out


def create_scheme(actor, valid_from, name: str, rows, note: str = "", *, now=None) -> Scheme:
    if not may_edit(actor):
        raise PermissionDenied(_("只有管理员可以修改考核方案"))
    rows = check(rows)
    now = now or timezone.now()
    from .periods import parse

    published = [parse(k) for k in AssessmentSnapshot.objects.values_list("period", flat=True)]
    if any(p.last >= valid_from for p in published):
        last = max(p.last for p in published)
        raise SchemeError(_("%(last)s 及以前的考核已发布，新方案须从其后开始"), code="published", last=last.isoformat())
    with transaction.atomic():
        if Scheme.objects.filter(valid_from=valid_from).exists():
            old = Scheme.objects.select_for_update().get(valid_from=valid_from)
            old.indicators.all().delete()
            old.name, old.note = name, note
            old.save(update_fields=["name", "note"])
            s, action = old, "update"
        else:
            s, action = Scheme.objects.create(name=name, valid_from=valid_from, note=note, created_at=now), "create"
        _indicators(s, rows)
        history.record(actor, "gridwork", s, f"scheme_{action}", {"indicators": [list(map(str, r)) for r in rows]},
                       at=now)
    return s


def indicators(scheme) -> list[dict]:
    return [{"formula": i.formula, "name": i.name, "weight": float(i.weight), "target": float(i.target),
             "lower_is_better": FORMULAS[i.formula][2]} for i in scheme.indicators.all()]
