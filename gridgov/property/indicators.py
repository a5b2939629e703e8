"""The indicator system as data: the default (5 categories, 25 sub-indicators), a year's set, the
rules it must keep, editing it while it is not yet used, and the score of an inspection by it.

Rules of a set (`check_set`): every category's weight equals the sum of its indicators' full
marks, and the weights sum to 100. So an inspection without deductions scores 100, and a
deduction of d points on an indicator lowers the score by d (an indicator never loses more than
its full marks). `score_of` is that sum.

The seed's two named categories (内业管理, 服务规范) come from the alliance's third-party
institution; the other three (环境卫生, 设施设备, 秩序安全) cover what residents complain of most in
the street's 12345 tickets and reports about property management (stairwells and rubbish, lifts
and lights, parking, gates and fire lanes)."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.core import history
from gridgov.core.errors import CodedError

from .models import Category, IndicatorSet, Indicator

D = Decimal

#: (code, name, [(code, name, full marks, method, step, rectify days, criteria, evidence)])
DEFAULT = [
    ("A", "内业管理", [
        ("A1", "合同与档案管理", 3, "deduct", 1, 10, "物业服务合同、管理制度、设施设备及业主档案齐全并及时更新", "合同、制度文本、档案台账"),
        ("A2", "信息公示", 3, "deduct", 1, 5, "收费标准、服务内容与标准、报修电话、负责人在小区显著位置公示", "公示栏照片"),
        ("A3", "人员配置与持证上岗", 3, "deduct", 1, 10, "人员配备符合合同约定，电工、电梯等特种作业人员持证上岗", "花名册、证书"),
        ("A4", "公共收益与维修资金公开", 3, "pass_fail", 3, 10, "公共收益、专项维修资金使用情况按季度公开", "公开记录"),
        ("A5", "诉求办理台账", 3, "deduct", 1, 5, "业主诉求与 12345 工单登记、办理、回访记录完整", "台账、回访记录"),
    ]),
    ("B", "服务规范", [
        ("B1", "客服接待与报修热线", 3, "deduct", 1, 3, "服务中心按时开放，24 小时报修电话畅通", "现场查看、拨测记录"),
        ("B2", "报修响应时限", 3, "deduct", 1, 5, "急修 30 分钟内到场，一般维修 24 小时内处理", "报修记录"),
        ("B3", "服务人员仪容与态度", 3, "deduct", 1, 3, "统一着装、佩戴工牌，文明用语", "现场照片"),
        ("B4", "满意度调查", 3, "pass_fail", 3, 20, "每年至少一次业主满意度调查并公示结果", "调查报告、公示照片"),
        ("B5", "配合社区治理", 3, "deduct", 1, 5, "参加联席会议，配合网格巡查、议事协商和应急处置", "会议签到、记录"),
    ]),
    ("C", "环境卫生", [
        ("C1", "楼道保洁", 5, "deduct", 1, 3, "楼道、楼梯、扶手干净，无堆物、无小广告", "现场照片"),
        ("C2", "垃圾分类与清运", 5, "deduct", 1, 2, "桶站整洁、有分类指导，垃圾日产日清、无满溢", "现场照片"),
        ("C3", "公共区域保洁", 5, "deduct", 1, 3, "道路、广场、绿地无垃圾杂物，无积水", "现场照片"),
        ("C4", "绿化养护", 5, "deduct", 1, 10, "绿地无黄土裸露、无枯死苗木，定期修剪", "现场照片"),
        ("C5", "病媒生物防制", 5, "deduct", 1, 5, "定期消杀并有记录，无蚊蝇鼠蟑孳生地", "消杀记录、现场照片"),
    ]),
    ("D", "设施设备", [
        ("D1", "电梯运行与维保", 5, "deduct", 1, 3, "电梯年检合格、维保记录完整，困人救援及时", "年检标志、维保记录"),
        ("D2", "供水供电与二次供水", 5, "deduct", 1, 5, "水箱定期清洗检测，配电设施完好，停水停电提前告知", "检测报告、告知记录"),
        ("D3", "公共照明", 5, "deduct", 1, 3, "楼道、道路照明完好，损坏及时维修", "现场照片"),
        ("D4", "共用部位维修", 5, "deduct", 1, 10, "屋面、外墙、楼道门窗、单元门禁完好，无渗漏", "现场照片、维修单"),
        ("D5", "休闲与健身设施", 5, "deduct", 1, 10, "健身器材、座椅、儿童设施完好安全", "现场照片"),
    ]),
    ("E", "秩序安全", [
        ("E1", "出入管理", 4, "deduct", 1, 3, "门岗值守、外来人员车辆登记", "现场查看、登记本"),
        ("E2", "消防安全", 4, "deduct", 2, 2, "消防设施完好，消防通道畅通，无飞线充电", "现场照片"),
        ("E3", "车辆停放秩序", 4, "deduct", 1, 5, "车辆有序停放，非机动车集中停放充电", "现场照片"),
        ("E4", "巡查与监控", 4, "deduct", 1, 5, "按时巡查并记录，监控设施运行正常", "巡查记录、监控画面"),
        ("E5", "装饰装修与违建管理", 4, "deduct", 1, 5, "装修登记、巡查，发现私搭乱建及时劝阻上报", "装修台账、现场照片"),
    ]),
]


class IndicatorError(CodedError, ValueError):
    """A set breaking its rules, or an edit refused (the API answers 400 with code "indicators")."""

    code = "indicators"


def _build(indicator_set: IndicatorSet, rows) -> IndicatorSet:
    """Fill an empty set with categories and indicators. `rows`: (code, name, weight or None for
    the sum of its indicators' full marks, [dict of Indicator fields]) per category, in order."""
    for pos, (code, name, weight, items) in enumerate(rows):
        items = list(items)
        if weight is None:
            weight = sum((D(i["full_marks"]) for i in items), D(0))
        cat = Category.objects.create(indicator_set=indicator_set, code=code, name=name, weight=weight,
                                      position=pos)
        Indicator.objects.bulk_create([Indicator(category=cat, **{"position": ipos, **item})
                                       for ipos, item in enumerate(items)])
    return indicator_set


def _default_rows():
    for code, name, items in DEFAULT:
        yield code, name, None, [
            {"code": icode, "name": iname, "full_marks": D(full), "method": method, "step": D(step),
             "rectify_days": days, "criteria": criteria, "evidence": evidence}
            for icode, iname, full, method, step, days, criteria, evidence in items]


COPIED = ("code", "name", "full_marks", "method", "step", "criteria", "evidence", "rectify_days", "position")


def _rows_of(source: IndicatorSet):
    for cat in source.categories.prefetch_related("indicators").order_by("position", "id"):
        yield cat.code, cat.name, cat.weight, [{f: getattr(i, f) for f in COPIED} for i in cat.indicators.all()]


def create_default(year: int, name: str = "物业服务质量考评指标") -> IndicatorSet:
    """The default set for `year` (5 categories, 25 sub-indicators, 100 points)."""
    with transaction.atomic():
        s = _build(IndicatorSet.objects.create(year=year, name=name), _default_rows())
        check_set(s)
    return s


def copy_set(source: IndicatorSet, year: int) -> IndicatorSet:
    """A new year's set, the same rules as `source` (to change for the new year)."""
    with transaction.atomic():
        return _build(IndicatorSet.objects.create(year=year, name=source.name, note=source.note), _rows_of(source))


def set_for(year: int, *, create: bool = True) -> IndicatorSet | None:
    """The set of `year`; made when missing (a copy of the latest earlier set, else the default)."""
    s = IndicatorSet.objects.filter(year=year).first()
    if s is not None or not create:
        return s
    earlier = IndicatorSet.objects.filter(year__lt=year).order_by("-year").first()
    try:
        return copy_set(earlier, year) if earlier else create_default(year)
    except Exception:  # made at the same moment by another request
        s = IndicatorSet.objects.filter(year=year).first()
        if s is None:
            raise
        return s


def check_set(s: IndicatorSet) -> None:
    """IndicatorError naming the first rule the set breaks (see the module's text)."""
    total = D(0)
    for cat in s.categories.all():
        full = sum((i.full_marks for i in cat.indicators.all()), D(0))
        if full != cat.weight:
            raise IndicatorError(_("%(cat)s：权重 %(w)s 应等于其小类满分之和 %(full)s")
                                 % {"cat": cat.name, "w": f"{cat.weight:g}", "full": f"{full:g}"})
        for i in cat.indicators.all():
            if i.full_marks <= 0 or i.step <= 0 or i.step > i.full_marks:
                raise IndicatorError(_("%(code)s %(name)s：满分须大于 0，每处扣分须在 0 到满分之间")
                                     % {"code": i.code, "name": i.name})
        total += cat.weight
    if total != 100:
        raise IndicatorError(_("各大类权重之和须为 100（现为 %(total)s）") % {"total": f"{total:g}"})


INDICATOR_FIELDS = ("name", "full_marks", "method", "step", "criteria", "evidence", "rectify_days")


def update_indicator(actor, indicator: Indicator, **fields) -> Indicator:
    """Change one sub-indicator of a set not yet used (administrators: settings × update). When
    its full marks change, its category's weight follows; the set must still total 100 (change two
    indicators in one call with `update_indicators`)."""
    return update_indicators(actor, indicator.category.indicator_set, {indicator.pk: fields})[0]


def update_indicators(actor, s: IndicatorSet, changes: dict) -> list[Indicator]:
    """Change several sub-indicators of `s` at once ({indicator id: {field: value}}): all or none,
    checked together against the set's rules. Refused once the set is frozen (its year has a
    submitted inspection): change next year's set instead."""
    from gridgov.accounts import policy

    policy.require(actor, "settings", "update")
    with transaction.atomic():
        s = IndicatorSet.objects.select_for_update().get(pk=s.pk)
        if s.frozen_at is not None:
            raise IndicatorError(_("%(year)s 年指标已用于考评，不能再改；请修改下一年度的指标") % {"year": s.year})
        out = []
        for pk, values in changes.items():
            ind = Indicator.objects.select_related("category").get(pk=pk, category__indicator_set=s)
            before = history.snapshot(ind, INDICATOR_FIELDS)
            for k, v in values.items():
                if k not in INDICATOR_FIELDS:
                    raise IndicatorError(_("不能修改字段 %(field)s") % {"field": k})
                if k in ("full_marks", "step"):
                    v = D(str(v))
                setattr(ind, k, v)
            if ind.method not in Indicator.Method.values:
                raise IndicatorError(_("%(code)s：评分方式无效") % {"code": ind.code})
            ind.save()
            history.record(actor, "property_indicators", ind, "update",
                           history.diff(before, history.snapshot(ind, INDICATOR_FIELDS)))
            out.append(ind)
        for cat in s.categories.all():
            cat.weight = sum((i.full_marks for i in cat.indicators.all()), D(0))
            cat.save(update_fields=["weight"])
        check_set(s)
    return out


def freeze(s: IndicatorSet, now=None) -> None:
    if s.frozen_at is None:
        IndicatorSet.objects.filter(pk=s.pk, frozen_at__isnull=True).update(frozen_at=now or timezone.now())


def score_of(deductions, indicators) -> Decimal:
    """The inspection score: 100 × (points kept) / (full marks of the set), each indicator losing at
    most its full marks. `deductions`: (indicator id, points) pairs; `indicators`: the set's."""
    lost: dict[int, Decimal] = {}
    for ind_id, points in deductions:
        lost[ind_id] = lost.get(ind_id, D(0)) + D(points)
    full = kept = D(0)
    for ind in indicators:
        full += ind.full_marks
        kept += max(D(0), ind.full_marks - lost.get(ind.pk, D(0)))
    if not full:
        return D(0)
    return (kept * 100 / full).quantize(D("0.01"))
