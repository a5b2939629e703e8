"""Spreadsheet imports of base data: one declarative spec per kind.

A spec is a list of columns (Chinese header, English aliases, required or not, a parser that
turns a cell into a value or says why it cannot) and a few hooks: `clean` for checks across
columns, `key` for duplicates, `lookup` for records already in the database, `build`/`assign`
to make or change model instances, and `after` for many-to-many links.

`run_import` reads an .xlsx (first sheet, or the sheet named 数据) or a .csv (UTF-8, UTF-8 with
BOM, or GBK), validates every row first and writes nothing if any row is wrong: the result then
carries the error report, one entry per (row as numbered in the spreadsheet, column header,
value, reason). When every row is right it writes all of them in one transaction through the
kind's one write path, `registry.services.save_batch` (the same the single-record services use:
derived fields, bulk writes in batches, and what hangs below an updated record follows it to a
new grid).

Duplicates: two rows with the same key in one file are both errors. A row whose key is already
in the database is an error unless `update=True` (`--update`), in which case the existing record
is updated: cells present and non-empty overwrite, empty cells leave the stored value alone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable

from django.db import transaction
from django.utils.translation import gettext_noop  # kind labels: translated where shown

from gridgov.geo import levels as gl
from gridgov.accounts.scope import scope_of
from gridgov.core import crypto
from gridgov.core.tabular import TableError, Workbook, open_table, write_csv
from gridgov.core.validators import id_birth_date, id_gender, id_number_error, phone_error
from gridgov.geo.models import GridNode

from . import services
from .models import (
    Address,
    Building,
    Compound,
    House,
    Organization,
    PartyOrganization,
    Place,
    PropertyProject,
    Resident,
    Volunteer,
    VolunteerTeam,
)

BATCH = 2000
PROGRESS_EVERY = 5000


# ---- errors and results -------------------------------------------------------------------


class CellError(Exception):
    """A cell cannot be read: the message is the reason shown to the office."""


class RowError(Exception):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass
class RowIssue:
    row: int  # as numbered in the spreadsheet (header = 1)
    column: str  # the header as written in the file (or the spec's header)
    value: str
    reason: str

    def __str__(self):
        where = f"第{self.row}行" + (f"「{self.column}」" if self.column else "")
        value = f"（{self.value}）" if self.value not in ("", None) else ""
        return f"{where}{value}：{self.reason}"


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowIssue] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "ok": self.ok,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "ignored_columns": self.ignored_columns,
            "errors": [
                {"row": e.row, "column": e.column, "value": e.value, "reason": e.reason} for e in self.errors
            ],
        }


ERROR_HEADERS = ["行号", "列", "值", "错误原因"]
# a row whose key belongs to a record the importer may not see (run_import): says nothing of where
CONFLICT = "无法登记：已有相同的记录，您不能新增或修改它。请联系街道管理员核实"


def write_error_report(errors: list[RowIssue], out) -> None:
    """The error report as .xlsx or .csv (by the file name's suffix), for the office to open.
    Written through gridgov.core.tabular: every cell (the file's own headers and values
    included) is made safe, so nothing in it runs as a formula."""
    path = Path(out)
    rows = [ERROR_HEADERS] + [[e.row, e.column, e.value, e.reason] for e in errors]
    if path.suffix.lower() == ".csv":
        write_csv(path, rows)
        return
    wb = Workbook(write_only=True)
    ws = wb.sheet("错误报告")
    for r in rows:
        ws.append(r)
    wb.save(path)


# ---- cell parsers -------------------------------------------------------------------------

_BLANK = {"", "-", "—", "无", "/"}


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in _BLANK)


def p_text(value, ctx, max_len: int = 255):
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    s = str(value).strip()
    if len(s) > max_len:
        raise CellError(f"过长：最多{max_len}个字符")
    return s


def text(max_len):
    return lambda v, ctx: p_text(v, ctx, max_len)


def _digits_cell(value, what: str) -> str:
    if isinstance(value, bool):
        raise CellError(f"{what}格式错误")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and value < 1e15:
            return str(int(value))
        raise CellError(f"{what}被存成了数字，已丢失精度：请把该列设为文本格式后重新填写")
    return str(value).strip().replace(" ", "")


def p_id_number(value, ctx):
    v = _digits_cell(value, "身份证号").upper()
    err = id_number_error(v)
    if err:
        raise CellError(err)
    return v


def p_phone(value, ctx):
    v = _digits_cell(value, "电话号码")
    err = phone_error(v)
    if err:
        raise CellError(err)
    return v


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y-%m", "%Y/%m")


def p_date(value, ctx):
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 19000101 <= value <= 21001231:  # 19900307 typed as a number
            value = str(int(value))
        else:
            raise CellError("日期格式错误：应为 1990-03-07、1990/3/7 或 19900307")
    s = str(value).strip().split(" ")[0].split("T")[0]
    for fmt in _DATE_FORMATS:
        try:
            d = datetime.strptime(s, fmt).date()
        except ValueError:
            continue
        if not (1880 <= d.year <= 2100):
            break
        return d
    raise CellError("日期格式错误：应为 1990-03-07、1990/3/7 或 19900307")


def p_int(lo=0, hi=10**9):
    def parse(value, ctx):
        try:
            f = float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)
        except ValueError:
            raise CellError("应为整数") from None
        if not f.is_integer():
            raise CellError("应为整数")
        if not lo <= f <= hi:
            raise CellError(f"应在 {lo} 到 {hi} 之间")
        return int(f)

    return parse


def p_decimal(value, ctx):
    try:
        d = Decimal(str(value).strip().rstrip("㎡").rstrip("平方米").strip())
    except InvalidOperation:
        raise CellError("应为数字") from None
    if d < 0 or d >= Decimal("1000000"):
        raise CellError("应在 0 到 999999.99 之间")
    return d.quantize(Decimal("0.01"))


def p_coord(lo, hi, what):
    def parse(value, ctx):
        try:
            f = float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)
        except ValueError:
            raise CellError(f"{what}应为数字（WGS-84 度）") from None
        if not lo <= f <= hi:
            raise CellError(f"{what}超出范围（{lo}–{hi}）")
        return f

    return parse


def p_enum(choices):
    """By Chinese label or by code."""
    by_label = {label: code for code, label in choices}
    by_code = {code.lower(): code for code, _ in choices}
    allowed = "、".join(label for _, label in choices)

    def parse(value, ctx):
        s = str(value).strip()
        if s in by_label:
            return by_label[s]
        if s.lower() in by_code:
            return by_code[s.lower()]
        raise CellError(f"应为以下之一：{allowed}")

    parse.choices = choices
    return parse


_TRUE = {"是", "y", "yes", "true", "1", "√", "党员", "中共党员"}
_FALSE = {"否", "n", "no", "false", "0", "×", "群众"}


def p_bool(value, ctx):
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if isinstance(value, (int, float)):
        s = str(int(value))
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise CellError("应为「是」或「否」")


_SPLIT = re.compile(r"[,，、;；/\s]+")


def p_tags(value, ctx):
    by_label = {label: code for code, label in Resident.TAGS.items()}
    out = []
    for part in _SPLIT.split(str(value).strip()):
        if not part:
            continue
        code = by_label.get(part) or (part.lower() if part.lower() in Resident.TAGS else None)
        if code is None:
            raise CellError(f"未知标签「{part}」；可用：{'、'.join(Resident.TAGS.values())}")
        if code not in out:
            out.append(code)
    return out


def p_grid(value, ctx):
    return ctx.grid(str(value).strip())


def p_grids(value, ctx):
    return [ctx.grid(part) for part in _SPLIT.split(str(value).strip()) if part]


def p_community(value, ctx):
    node = ctx.grid(str(value).strip())
    if node.level != gl.community_level():
        raise CellError("应为社区（村）的编码或名称")
    return node


def p_address(value, ctx):
    return ctx.address(_digits_cell(value, "地址编码") if isinstance(value, (int, float)) else str(value).strip())


def p_credit_code(value, ctx):
    v = str(value).strip().upper()
    err = credit_code_error(v)
    if err:
        raise CellError(err)
    return v


_CC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def credit_code_error(v: str) -> str | None:
    """Unified social credit code (GB 32100-2015): 18 characters with a check character."""
    if len(v) != 18 or any(c not in _CC_CHARS for c in v):
        return "统一社会信用代码应为18位数字或大写字母（不含 I、O、Z、S、V）"
    total = sum(_CC_CHARS.index(c) * w for c, w in zip(v[:17], _CC_WEIGHTS))
    if _CC_CHARS[(31 - total % 31) % 31] != v[17]:
        return "统一社会信用代码校验位错误 (GB 32100)"
    return None


def p_party_org(value, ctx):
    return ctx.named(PartyOrganization, str(value).strip(), "党组织")


def p_team(value, ctx):
    return ctx.named(VolunteerTeam, str(value).strip(), "志愿服务队")


# ---- context: lookups shared by the rows of one import -------------------------------------


def locate_grid(lon: float, lat: float):
    """The finest grid node containing the point, as a NodeRef (id, code, name, level, path) or None."""
    from gridgov.geo.locator import get_locator

    return get_locator().finest(lon, lat)


class Context:
    def __init__(self, user=None, update: bool = False):
        self.user = user
        self.update = update
        self.scope = scope_of(user) if user is not None else None
        nodes = GridNode.objects.only("id", "code", "name", "level", "path", "parent_id")
        self.grid_by_id = {n.id: n for n in nodes}
        self.grid_by_code = {n.code: n for n in self.grid_by_id.values()}
        self.grid_by_name: dict[str, list[GridNode]] = {}
        for n in self.grid_by_id.values():
            self.grid_by_name.setdefault(n.name, []).append(n)
        self._addresses: dict[str, Address] = {}
        self._named: dict[tuple, Any] = {}
        self.cache: dict[str, Any] = {}

    # grids
    def _check_scope(self, node):
        if self.scope is not None and not self.scope.covers_path(node.path):
            raise CellError("不在您负责的网格范围内")

    def grid(self, value: str):
        node = self.grid_by_code.get(value)
        if node is None:
            found = self.grid_by_name.get(value, [])
            if len(found) > 1:
                raise CellError("网格名称不唯一，请填写网格编码")
            node = found[0] if found else None
        if node is None:
            raise CellError("未找到该网格（按编码或名称）")
        self._check_scope(node)
        return node

    def community_of(self, node):
        codes = [c for c in node.path.strip("/").split("/") if c]
        k = gl.community_level()
        return self.grid_by_code.get(codes[k]) if len(codes) > k else None

    def locate(self, lon, lat):
        ref = locate_grid(lon, lat)
        if ref is None:
            raise CellError("经纬度不在任何网格内")
        node = self.grid_by_id.get(ref.id)
        if node is None:
            raise CellError("经纬度所在网格不存在")
        self._check_scope(node)
        return node

    # standard addresses (prefetched in bulk)
    def prefetch_addresses(self, values):
        values = {str(v).strip() for v in values if not is_blank(v)} - set(self._addresses)
        values = sorted(values)
        for i in range(0, len(values), 900):
            chunk = values[i : i + 900]
            for a in Address.objects.filter(code__in=chunk).select_related("grid"):
                self._addresses[a.code] = a
            rest = [v for v in chunk if v not in self._addresses]
            if rest:
                by_text: dict[str, list[Address]] = {}
                for a in Address.objects.filter(text__in=rest).select_related("grid"):
                    by_text.setdefault(a.text, []).append(a)
                for t, found in by_text.items():
                    self._addresses[t] = found[0] if len(found) == 1 else None

    def address(self, value: str):
        if value not in self._addresses:
            self.prefetch_addresses([value])
        a = self._addresses.get(value, False)
        if a is None:
            raise CellError("地址全称对应多条标准地址，请填写标准地址编码")
        if a is False:
            raise CellError("未找到该标准地址（按编码或地址全称）")
        if a.grid_id:
            self._check_scope(a.grid)
        elif self.scope is not None and not self.scope.everything:
            raise CellError("该地址尚未划入网格")
        return a

    def named(self, model, name: str, what: str):
        key = (model, name)
        if key not in self._named:
            self._named[key] = model.objects.filter(name=name).select_related("grid").first()
        obj = self._named[key]
        if obj is None:
            raise CellError(f"未找到该{what}")
        return obj


# ---- specs --------------------------------------------------------------------------------


@dataclass
class Col:
    field: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    parse: Callable = p_text
    help: str = ""
    example: Any = ""
    out: Callable | None = None  # obj -> cell value for exports
    personal: bool = False  # an ID number or phone: masked in exports unless revealed


def _norm_header(h) -> str:
    s = str(h or "").strip().replace("（", "(").replace("）", ")").replace("＊", "*")
    s = s.strip("*").strip()
    return re.sub(r"\s+", "", s).lower()


class Spec:
    kind: str = ""
    label: str = ""
    model = None
    columns: list[Col] = []
    #: model fields an update may change (the rest of the cleaned row is for lookups)
    plain_fields: tuple[str, ...] = ()
    personal_fields: tuple[str, ...] = ()

    def col(self, name) -> Col:
        return next(c for c in self.columns if c.field == name)

    def header_map(self) -> dict[str, Col]:
        m = {}
        for c in self.columns:
            for h in (c.header, c.field, *c.aliases):
                m[_norm_header(h)] = c
        return m

    def prefetch(self, rows: list[dict], ctx: Context):
        cols = [c for c in self.columns if c.parse is p_address]
        if cols:
            ctx.prefetch_addresses(r.get(c.field) for r in rows for c in cols)

    def clean(self, row: dict, ctx: Context) -> None:
        """Checks across columns; fill derived values; raise RowError(field, reason)."""

    def key(self, row: dict):
        """(field to blame, hashable key) or None when the row has no duplicate key."""
        return None

    def lookup(self, keys: list, ctx: Context) -> dict:
        """Existing records by key."""
        return {}

    def build(self, row: dict, ctx: Context):
        obj = self.model()
        self.assign(obj, row, ctx, creating=True)
        return obj

    def assign(self, obj, row: dict, ctx: Context, creating: bool):
        for f in self.plain_fields:
            value = row.get(f)
            if value is None or (value == "" and not creating):
                continue  # an empty cell keeps the stored value (and the model default on create)
            setattr(obj, f, value)
        for f in self.personal_fields:
            if row.get(f):
                obj.set_personal(f, row[f])

    def before_write(self, creates: list, updates: list, ctx: Context):
        """Create what the rows hang on (compounds, buildings, houses) inside the transaction."""

    def after(self, pairs: list[tuple], ctx: Context):
        """Many-to-many links once every object has a primary key: pairs of (obj, row)."""

    def write(self, creates: list[tuple], updates: list[tuple], ctx: Context, progress=None):
        """Write the rows, inside run_import's transaction: pairs of (obj, row). The base data's
        one write path, `registry.services.save_batch` (derived fields, bulk writes in batches,
        and what hangs below an updated record follows it to its new grid); a spec whose records
        are not base data (staff accounts) writes through its own services."""
        services.save_batch(
            self.model, [o for o, _ in creates], [o for o, _ in updates], self.update_fields(),
            progress=(lambda done, total: progress("write", done, total)) if progress else None,
        )

    def update_fields(self) -> list[str]:
        out = list(self.plain_fields)
        for f in self.personal_fields:
            out += [f"{f}_enc", f"{f}_hash", f"{f}_masked"]
        return out + ["updated_at"]

    def queryset(self):
        return self.model.objects.all()


def _grid_from(row, ctx, *, located=True, address_field=None, required=True):
    """The grid of a row: from its address, its grid column, or its coordinates."""
    grid = row.get("grid")
    if address_field and row.get(address_field) is not None:
        a = row[address_field]
        if a.grid_id is None:
            raise RowError(address_field, "该地址尚未划入网格")
        agrid = ctx.grid_by_id[a.grid_id]
        if grid is not None and grid.id != agrid.id and not agrid.path.startswith(grid.path):
            raise RowError("grid", f"与地址所在网格（{agrid.code} {agrid.name}）不一致")
        row["grid"] = agrid
        return
    if grid is None and located and row.get("lon") is not None and row.get("lat") is not None:
        try:
            row["grid"] = ctx.locate(row["lon"], row["lat"])
        except CellError as exc:
            raise RowError("lon", str(exc)) from None
        return
    if grid is None and required:
        raise RowError("grid", "无法确定所属网格：请填写所属网格" + ("或经纬度" if located else ""))


def _check_lonlat(row):
    if (row.get("lon") is None) != (row.get("lat") is None):
        raise RowError("lat" if row.get("lat") is None else "lon", "经度和纬度应同时填写")


def _code(obj):
    return obj.code if obj is not None else ""


def _label(choices):
    d = dict(choices)
    return lambda value: d.get(value, value or "")


# -- addresses ------------------------------------------------------------------------------


class AddressSpec(Spec):
    kind = "addresses"
    label = gettext_noop("标准地址")
    model = Address
    columns = [
        Col("code", "标准地址编码", ("code", "address_code"), True, text(40), "唯一编码", "110106001001001003001"),
        Col("text", "地址全称", ("text", "address", "full_address"), True, text(255), "完整地址", "测试街道第1社区阳光小区3号楼2单元301"),
        Col("level", "地址层级", ("level",), False, p_enum(Address.LEVELS), "小区、楼、单元或户；默认为户", "户",
            out=lambda o: o.get_level_display()),
        Col("community", "所属社区", ("community",), False, p_community, "社区编码或名称；可由所属网格推出", "第1社区",
            out=lambda o: o.community.name),
        Col("compound", "小区名称", ("compound",), False, text(100), "不存在时自动新建", "阳光小区",
            out=lambda o: o.compound.name if o.compound_id else ""),
        Col("building", "楼栋", ("building",), False, text(60), "不存在时在该小区下自动新建", "3号楼",
            out=lambda o: o.building.name if o.building_id else ""),
        Col("unit", "单元", ("unit",), False, text(20), "", "2单元"),
        Col("room", "户室号", ("room",), False, text(20), "", "301"),
        Col("grid", "所属网格", ("grid", "grid_code"), False, p_grid, "网格编码或名称；不填时按经纬度落格", "110106001001001",
            out=lambda o: _code(o.grid)),
        Col("lon", "经度", ("lon", "lng", "longitude"), False, p_coord(73, 136, "经度"), "WGS-84", 116.3912),
        Col("lat", "纬度", ("lat", "latitude"), False, p_coord(3, 54, "纬度"), "WGS-84", 39.7861),
    ]
    plain_fields = ("code", "text", "level", "unit", "room", "lon", "lat", "grid", "community")

    def queryset(self):
        return Address.objects.select_related("grid", "community", "compound", "building")

    def clean(self, row, ctx):
        _check_lonlat(row)
        _grid_from(row, ctx)
        community = ctx.community_of(row["grid"])
        if row.get("community") is not None and community is not None and row["community"].id != community.id:
            raise RowError("community", f"与所属网格所在社区（{community.name}）不一致")
        row["community"] = row.get("community") or community
        if row["community"] is None:
            raise RowError("grid", "所属网格不在任何社区之下")
        if row.get("building") and not row.get("compound"):
            raise RowError("compound", "填写了楼栋时应填写小区名称")
        if not row.get("level"):
            row["level"] = "house"

    def key(self, row):
        return ("code", row["code"])

    def lookup(self, keys, ctx):
        out = {}
        for i in range(0, len(keys), 900):
            for a in Address.objects.filter(code__in=keys[i : i + 900]):
                out[a.code] = a
        return out

    def before_write(self, creates, updates, ctx):
        compounds, buildings = {}, {}
        for obj, row in creates + updates:
            if row.get("compound"):
                k = (row["community"].id, row["compound"])
                if k not in compounds:
                    compounds[k] = _compound(row["community"], row["compound"], row["community"])
                obj.compound = compounds[k]
                if row.get("building"):
                    bk = (compounds[k].id, row["building"])
                    if bk not in buildings:
                        buildings[bk] = _building(compounds[k], row["building"], row["grid"])
                    obj.building = buildings[bk]


def _compound(community, name, grid):
    c = Compound.objects.filter(community=community, name=name).first()
    return c or services.create_compound(community=community, name=name, grid=grid)


def _building(compound, name, grid):
    b = Building.objects.filter(compound=compound, name=name).first()
    return b or services.create_building(compound=compound, name=name, grid=grid)


# -- buildings ------------------------------------------------------------------------------


class BuildingSpec(Spec):
    kind = "buildings"
    label = gettext_noop("楼栋")
    model = Building
    columns = [
        Col("community", "所属社区", ("community",), True, p_community, "社区编码或名称", "第1社区",
            out=lambda o: o.compound.community.name if o.compound_id else ""),
        Col("compound", "小区名称", ("compound",), True, text(100), "不存在时自动新建", "阳光小区",
            out=lambda o: o.compound.name if o.compound_id else ""),
        Col("compound_kind", "小区类型", ("compound_kind",), False, p_enum(Compound._meta.get_field("kind").choices),
            "老旧小区、回迁小区、单位小区、商品房小区", "老旧小区",
            out=lambda o: o.compound.get_kind_display() if o.compound_id else ""),
        Col("name", "楼栋名称", ("name", "building"), True, text(60), "", "3号楼"),
        Col("floors", "层数", ("floors",), False, p_int(1, 200), "", 6),
        Col("units", "单元数", ("units",), False, p_int(1, 100), "", 3),
        Col("year_built", "建成年份", ("year_built",), False, p_int(1800, 2100), "", 1995),
        Col("grid", "所属网格", ("grid", "grid_code"), False, p_grid, "网格编码或名称；不填时按经纬度落格", "110106001001001",
            out=lambda o: _code(o.grid)),
        Col("lon", "经度", ("lon", "lng", "longitude"), False, p_coord(73, 136, "经度"), "WGS-84", 116.3912),
        Col("lat", "纬度", ("lat", "latitude"), False, p_coord(3, 54, "纬度"), "WGS-84", 39.7861),
    ]
    plain_fields = ("name", "floors", "units", "year_built", "grid", "lon", "lat")

    def queryset(self):
        return Building.objects.select_related("grid", "compound", "compound__community")

    def clean(self, row, ctx):
        _check_lonlat(row)
        _grid_from(row, ctx)
        community = ctx.community_of(row["grid"])
        if community is not None and community.id != row["community"].id:
            raise RowError("grid", f"不在所属社区（{row['community'].name}）内")

    def key(self, row):
        return ("name", (row["community"].id, row["compound"], row["name"]))

    def lookup(self, keys, ctx):
        out = {}
        names = sorted({k[2] for k in keys})
        for i in range(0, len(names), 900):
            for b in Building.objects.filter(name__in=names[i : i + 900]).select_related("compound"):
                if b.compound_id:
                    out[(b.compound.community_id, b.compound.name, b.name)] = b
        return out

    def before_write(self, creates, updates, ctx):
        compounds = {}
        for obj, row in creates + updates:
            k = (row["community"].id, row["compound"])
            if k not in compounds:
                compounds[k] = _compound(row["community"], row["compound"], row["community"])
            c = compounds[k]
            if row.get("compound_kind") and c.kind != row["compound_kind"]:
                services.update(c, kind=row["compound_kind"])
            obj.compound = c


# -- houses ---------------------------------------------------------------------------------


class HouseSpec(Spec):
    kind = "houses"
    label = gettext_noop("实有房屋")
    model = House
    columns = [
        Col("address", "标准地址编码", ("address", "address_code", "code"), True, p_address, "已登记的标准地址编码或地址全称",
            "110106001001001003001", out=lambda o: o.address.code),
        Col("address_text", "地址全称", ("address_text",), False, text(255), "仅导出时填写；导入时忽略", "",
            out=lambda o: o.address.text),
        Col("use", "房屋用途", ("use",), False, p_enum(House.USES), "住宅、商业、办公、商住、其他；默认住宅", "住宅",
            out=lambda o: o.get_use_display()),
        Col("area_m2", "建筑面积(㎡)", ("area", "area_m2"), False, p_decimal, "", "68.5"),
        Col("occupancy", "居住状态", ("occupancy",), False, p_enum(House.OCCUPANCY), "自住、出租、空置；默认自住", "自住",
            out=lambda o: o.get_occupancy_display()),
        Col("grid", "所属网格", ("grid",), False, p_grid, "由地址推出；填写时须与地址一致", "",
            out=lambda o: _code(o.grid)),
    ]
    plain_fields = ("address", "use", "area_m2", "occupancy", "grid", "building")

    def queryset(self):
        return House.objects.select_related("grid", "address")

    def clean(self, row, ctx):
        _grid_from(row, ctx, address_field="address", located=False)
        row["building"] = row["address"].building
        row.setdefault("use", None)

    def build(self, row, ctx):
        obj = House(use=row.get("use") or "residential", occupancy=row.get("occupancy") or "owner")
        self.assign(obj, row, ctx, creating=False)
        return obj

    def key(self, row):
        return ("address", row["address"].id)

    def lookup(self, keys, ctx):
        out = {}
        for i in range(0, len(keys), 900):
            for h in House.objects.filter(address_id__in=keys[i : i + 900]):
                out[h.address_id] = h
        return out


# -- residents ------------------------------------------------------------------------------


class ResidentSpec(Spec):
    kind = "residents"
    label = gettext_noop("实有人口")
    model = Resident
    columns = [
        Col("name", "姓名", ("name",), True, text(50), "", "张三"),
        Col("id_number", "身份证号", ("id_number", "id_no", "idcard"), True, p_id_number, "18位，末位可为X；请设为文本格式",
            "11010519491231002X", personal=True),
        Col("phone", "联系电话", ("phone", "mobile", "tel"), False, p_phone, "11位手机号或带区号固话", "13812345678", personal=True),
        Col("gender", "性别", ("gender", "sex"), False, p_enum(Resident.GENDERS), "男或女；不填时由身份证号推出", "女",
            out=lambda o: o.get_gender_display()),
        Col("birth_date", "出生日期", ("birth_date", "birthday", "dob"), False, p_date,
            "1990-03-07、1990/3/7、19900307 或日期单元格；不填时由身份证号推出", "1949-12-31"),
        Col("ethnicity", "民族", ("ethnicity", "nation"), False, text(20), "", "汉族"),
        Col("household_no", "户号", ("household_no", "household"), False, text(30), "", "H0001"),
        Col("relation", "与户主关系", ("relation",), False, text(20), "户主、配偶、子女等", "户主"),
        Col("residence_type", "人口类型", ("residence_type", "residence"), False, p_enum(Resident.RESIDENCE),
            "户籍、流动、境外；默认户籍", "户籍", out=lambda o: o.get_residence_type_display()),
        Col("registered_address", "户籍地址", ("registered_address",), False, text(255), "", "北京市丰台区……"),
        Col("address", "现住址(标准地址编码)", ("address", "address_code", "current_address"), False, p_address,
            "已登记的标准地址编码或地址全称；居民的网格即该地址所在网格", "110106001001001003001",
            out=lambda o: o.house.address.code if o.house_id else ""),
        Col("grid", "所属网格", ("grid", "grid_code"), False, p_grid, "未填现住址时必填；填写时须与现住址一致", "",
            out=lambda o: _code(o.grid)),
        Col("tags", "标签", ("tags",), False, p_tags, "多个用顿号或逗号分隔：" + "、".join(Resident.TAGS.values()), "老年人、独居",
            out=lambda o: "、".join(o.tag_labels)),
        Col("party_member", "是否党员", ("party_member",), False, p_bool, "是或否", "否",
            out=lambda o: "是" if o.party_member else "否"),
        Col("party_org", "所属党组织", ("party_org",), False, p_party_org, "已登记的党组织名称", "",
            out=lambda o: o.party_org.name if o.party_org_id else ""),
    ]
    plain_fields = (
        "name", "gender", "birth_date", "ethnicity", "household_no", "relation", "residence_type",
        "registered_address", "house", "grid", "tags", "party_member", "party_org",
    )
    personal_fields = ("id_number", "phone")

    def queryset(self):
        return Resident.objects.select_related("grid", "house__address", "party_org")

    def clean(self, row, ctx):
        idn = row["id_number"]
        born, gender = id_birth_date(idn), id_gender(idn)
        if row.get("birth_date") and row["birth_date"] != born:
            raise RowError("birth_date", f"与身份证号中的出生日期（{born:%Y-%m-%d}）不一致")
        if row.get("gender") and row["gender"] != gender:
            raise RowError("gender", "与身份证号中的性别不一致")
        row["birth_date"], row["gender"] = born, gender
        _grid_from(row, ctx, address_field="address", located=False)
        row["house"] = None  # set in before_write (a house is made for an address without one)
        row["_hash"] = crypto.blind_index(idn)

    def build(self, row, ctx):
        obj = Resident(residence_type=row.get("residence_type") or "registered", tags=row.get("tags") or [],
                       party_member=bool(row.get("party_member")))
        self.assign(obj, row, ctx, creating=False)
        return obj

    def key(self, row):
        return ("id_number", row["_hash"])

    def lookup(self, keys, ctx):
        out = {}
        for i in range(0, len(keys), 900):
            for r in Resident.objects.filter(id_number_hash__in=keys[i : i + 900]).select_related("grid"):
                out[r.id_number_hash] = r
        return out

    def before_write(self, creates, updates, ctx):
        pairs = [(o, r) for o, r in creates + updates if r.get("address") is not None]
        ids = sorted({r["address"].id for _, r in pairs})
        houses = {}
        for i in range(0, len(ids), 900):
            for h in House.objects.filter(address_id__in=ids[i : i + 900]).only("id", "address_id"):
                houses[h.address_id] = h.id
        missing = [a for a in {r["address"].id: r["address"] for _, r in pairs}.values() if a.id not in houses]
        made = [House(address=a) for a in missing]
        services.save_batch(House, creates=made)  # grid and building follow from the address
        houses.update((h.address_id, h.id) for h in made)
        for obj, row in pairs:
            obj.house_id = houses[row["address"].id]


# -- organizations --------------------------------------------------------------------------


class OrganizationSpec(Spec):
    kind = "organizations"
    label = gettext_noop("实有单位")
    model = Organization
    columns = [
        Col("name", "单位名称", ("name",), True, text(150), "", "阳光物业服务有限公司"),
        Col("kind", "单位类型", ("kind", "type"), True, p_enum(Organization.KINDS), "、".join(l for _, l in Organization.KINDS),
            "物业公司", out=lambda o: o.get_kind_display()),
        Col("credit_code", "统一社会信用代码", ("credit_code",), False, p_credit_code, "18位 (GB 32100)", "91350100M000100Y43"),
        Col("address", "标准地址编码", ("address", "address_code"), False, p_address, "已登记的标准地址编码或地址全称", "",
            out=lambda o: o.address.code if o.address_id else ""),
        Col("address_text", "地址", ("address_text",), False, text(255), "", "阳光小区3号楼底商"),
        Col("contact_name", "联系人", ("contact_name", "contact"), False, text(50), "", "李四"),
        Col("phone", "联系电话", ("phone", "tel"), False, p_phone, "", "010-67991234", personal=True),
        Col("employees", "从业人数", ("employees",), False, p_int(0, 10**6), "", 12),
        Col("grid", "所属网格", ("grid", "grid_code"), False, p_grid, "可由地址或经纬度推出", "110106001001001",
            out=lambda o: _code(o.grid)),
        Col("lon", "经度", ("lon", "lng", "longitude"), False, p_coord(73, 136, "经度"), "WGS-84", 116.3912),
        Col("lat", "纬度", ("lat", "latitude"), False, p_coord(3, 54, "纬度"), "WGS-84", 39.7861),
    ]
    plain_fields = ("name", "kind", "credit_code", "address", "address_text", "contact_name", "employees", "grid", "lon", "lat")
    personal_fields = ("phone",)

    def queryset(self):
        return Organization.objects.select_related("grid", "address")

    def clean(self, row, ctx):
        _check_lonlat(row)
        _grid_from(row, ctx, address_field="address")
        if row.get("address") is not None and not row.get("address_text"):
            row["address_text"] = row["address"].text

    def key(self, row):
        if row.get("credit_code"):
            return ("credit_code", ("cc", row["credit_code"]))
        return ("name", ("name", row["name"], row["grid"].id))

    def lookup(self, keys, ctx):
        out = {}
        ccs = [k[1] for k in keys if k[0] == "cc"]
        names = sorted({k[1] for k in keys if k[0] == "name"})
        for i in range(0, len(ccs), 900):
            for o in Organization.objects.filter(credit_code__in=ccs[i : i + 900]):
                out[("cc", o.credit_code)] = o
        for i in range(0, len(names), 900):
            for o in Organization.objects.filter(name__in=names[i : i + 900], credit_code=""):
                out[("name", o.name, o.grid_id)] = o
        return out


# -- places ---------------------------------------------------------------------------------


class PlaceSpec(Spec):
    kind = "places"
    label = gettext_noop("场所")
    model = Place
    columns = [
        Col("name", "场所名称", ("name",), True, text(150), "", "第1社区党群服务中心"),
        Col("kind", "场所类型", ("kind", "type"), True, p_enum(Place.KINDS), "、".join(l for _, l in Place.KINDS), "党群服务中心",
            out=lambda o: o.get_kind_display()),
        Col("address_text", "地址", ("address_text", "address"), False, text(255), "", "阳光小区南门"),
        Col("lon", "经度", ("lon", "lng", "longitude"), True, p_coord(73, 136, "经度"), "WGS-84", 116.3912),
        Col("lat", "纬度", ("lat", "latitude"), True, p_coord(3, 54, "纬度"), "WGS-84", 39.7861),
        Col("open_hours", "开放时间", ("open_hours",), False, text(60), "", "9:00-17:00"),
        Col("note", "备注", ("note",), False, text(255), "", ""),
        Col("grid", "所属网格", ("grid", "grid_code"), False, p_grid, "不填时按经纬度落格", "110106001001001",
            out=lambda o: _code(o.grid)),
    ]
    plain_fields = ("name", "kind", "address_text", "lon", "lat", "open_hours", "note", "grid")

    def queryset(self):
        return Place.objects.select_related("grid")

    def clean(self, row, ctx):
        _grid_from(row, ctx)

    def key(self, row):
        return ("name", (row["name"], row["grid"].id))

    def lookup(self, keys, ctx):
        out = {}
        names = sorted({k[0] for k in keys})
        for i in range(0, len(names), 900):
            for p in Place.objects.filter(name__in=names[i : i + 900]):
                out[(p.name, p.grid_id)] = p
        return out


# -- party organizations --------------------------------------------------------------------


class PartyOrgSpec(Spec):
    kind = "party_orgs"
    label = gettext_noop("党组织")
    model = PartyOrganization
    columns = [
        Col("name", "组织名称", ("name",), True, text(150), "全街道唯一", "第1社区第1网格党支部"),
        Col("kind", "组织类型", ("kind", "type"), False, p_enum(PartyOrganization.KINDS), "党委、党总支、党支部、党小组；默认党支部",
            "党支部", out=lambda o: o.get_kind_display()),
        Col("grid", "所属节点", ("grid", "home", "home_grid"), True, p_grid, "组织所在的社区或网格（编码或名称）", "110106001001000",
            out=lambda o: _code(o.grid)),
        Col("grids", "覆盖网格", ("grids", "covers"), False, p_grids, "支部建在网格上：多个网格用顿号分隔", "110106001001001",
            out=lambda o: "、".join(g.code for g in o.grids.all())),
        Col("secretary_name", "书记", ("secretary", "secretary_name"), False, text(50), "", "王五"),
        Col("member_count", "党员人数", ("member_count", "members"), False, p_int(0, 100000), "", 35),
    ]
    plain_fields = ("name", "kind", "grid", "secretary_name", "member_count")

    def queryset(self):
        return PartyOrganization.objects.select_related("grid").prefetch_related("grids")

    def build(self, row, ctx):
        obj = PartyOrganization(kind=row.get("kind") or "branch", member_count=row.get("member_count") or 0)
        self.assign(obj, row, ctx, creating=False)
        return obj

    def key(self, row):
        return ("name", row["name"])

    def lookup(self, keys, ctx):
        return {p.name: p for p in PartyOrganization.objects.filter(name__in=keys)}

    def after(self, pairs, ctx):
        Through = PartyOrganization.grids.through
        with_grids = [(o, r) for o, r in pairs if r.get("grids")]
        Through.objects.filter(partyorganization_id__in=[o.pk for o, _ in with_grids]).delete()
        links = [Through(partyorganization_id=o.pk, gridnode_id=g.id) for o, r in with_grids for g in {g.id: g for g in r["grids"]}.values()]
        Through.objects.bulk_create(links, batch_size=BATCH)


# -- volunteers -----------------------------------------------------------------------------


class VolunteerSpec(Spec):
    kind = "volunteers"
    label = gettext_noop("楼门长与志愿者")
    model = Volunteer
    columns = [
        Col("name", "姓名", ("name",), True, text(50), "", "赵六"),
        Col("kind", "类型", ("kind", "type"), True, p_enum(Volunteer.KINDS), "楼门长或志愿者", "楼门长",
            out=lambda o: o.get_kind_display()),
        Col("phone", "联系电话", ("phone", "mobile", "tel"), True, p_phone, "", "13912345678", personal=True),
        Col("id_number", "身份证号", ("id_number",), False, p_id_number, "填写时关联已登记的居民；不单独保存，导出时为空", "",
            out=lambda o: ""),
        Col("team", "志愿服务队", ("team",), False, p_team, "已登记的服务队名称", "",
            out=lambda o: o.team.name if o.team_id else ""),
        Col("compound", "小区名称", ("compound",), False, text(100), "与楼栋一起确定楼门长负责的楼", "阳光小区",
            out=lambda o: o.building.compound.name if o.building_id and o.building.compound_id else ""),
        Col("building", "楼栋", ("building",), False, text(60), "已登记的楼栋名称", "3号楼",
            out=lambda o: o.building.name if o.building_id else ""),
        Col("duties", "职责", ("duties",), False, text(100), "五大员：信息员、宣传员、调解员、监督员、服务员", "信息员、调解员"),
        Col("joined", "加入日期", ("joined",), False, p_date, "", "2023-05-01"),
        Col("grid", "所属网格", ("grid", "grid_code"), False, p_grid, "不填时由楼栋、居民或服务队推出", "110106001001001",
            out=lambda o: _code(o.grid)),
    ]
    plain_fields = ("name", "kind", "resident", "team", "building", "duties", "joined", "grid")
    personal_fields = ("phone",)

    def queryset(self):
        return Volunteer.objects.select_related("grid", "team", "building__compound", "resident")

    def clean(self, row, ctx):
        if row.get("building") and not row.get("compound"):
            raise RowError("compound", "填写了楼栋时应填写小区名称")
        if row.get("building"):
            bcache = ctx.cache.setdefault("buildings", {})
            bk = (row["compound"], row["building"])
            if bk not in bcache:
                bcache[bk] = list(Building.objects.filter(compound__name=bk[0], name=bk[1]).select_related("grid"))
            found = bcache[bk]
            if len(found) != 1:
                raise RowError("building", "未找到该楼栋" if not found else "楼栋不唯一（多个社区有同名小区）")
            row["building"] = found[0]
        else:
            row["building"] = None
        if row.get("id_number"):
            # only a resident the importer may see: one outside their scope is "not found", like none
            residents = Resident.objects.visible_to(ctx.user) if ctx.user is not None else Resident.objects.all()
            r = residents.filter(id_number_hash=crypto.blind_index(row["id_number"])).select_related("grid").first()
            if r is None:
                raise RowError("id_number", "未找到该身份证号对应的居民")
            row["resident"] = r
        if row.get("grid") is None:
            for source in ("building", "resident", "team"):
                if row.get(source) is not None and row[source].grid_id:
                    row["grid"] = ctx.grid_by_id[row[source].grid_id]
                    try:
                        ctx._check_scope(row["grid"])
                    except CellError as exc:
                        raise RowError(source, str(exc)) from None
                    break
        if row.get("grid") is None:
            raise RowError("grid", "无法确定所属网格：请填写所属网格")
        row["_hash"] = crypto.blind_index(row["phone"])

    def key(self, row):
        return ("phone", (row["name"], row["_hash"]))

    def lookup(self, keys, ctx):
        hashes = sorted({k[1] for k in keys})
        out = {}
        for i in range(0, len(hashes), 900):
            for v in Volunteer.objects.filter(phone_hash__in=hashes[i : i + 900]):
                out[(v.name, v.phone_hash)] = v
        return out


SPECS: dict[str, Spec] = {
    s.kind: s
    for s in (
        AddressSpec(),
        BuildingSpec(),
        HouseSpec(),
        ResidentSpec(),
        OrganizationSpec(),
        PlaceSpec(),
        PartyOrgSpec(),
        VolunteerSpec(),
    )
}


def get_spec(kind) -> Spec:
    """The spec of a base-data kind (SPECS), or `kind` itself when it is a Spec (an import
    defined elsewhere on these rules: staff accounts, web.staff_import)."""
    if isinstance(kind, Spec):
        return kind
    try:
        return SPECS[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}; kinds are {', '.join(SPECS)}") from None


# ---- reading files ------------------------------------------------------------------------


def read_table(source, filename: str | None = None):
    """(header cells, iterator of (row number, cells)) from an .xlsx or .csv path or file object,
    streamed with a row limit (gridgov.core.tabular: formulas as text, mixed encodings refused)."""
    header, rows, _fmt = open_table(source, filename)
    return header, rows


# ---- the import ---------------------------------------------------------------------------


def run_import(
    kind: str | Spec,
    source,
    *,
    filename: str | None = None,
    update: bool = False,
    user=None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportResult:
    """Validate every row, then (only if all are valid) write them all in one transaction.

    `user`: when given (API uploads), every grid and address the rows reference must be in
    the user's scope, and updated records must be visible to them; the user's role must be
    allowed to create (and with `update`, to update) this kind (accounts.policy): PermissionDenied."""
    spec = get_spec(kind)
    kind = spec.kind
    if user is not None:
        from gridgov.accounts import policy

        policy.require(user, spec.kind, "create")
        if update:
            policy.require(user, spec.kind, "update")
    result = ImportResult(kind=kind)
    try:
        header, rows_iter = read_table(source, filename)
    except ValueError as exc:
        result.errors.append(RowIssue(1, "", "", str(exc)))
        return result

    hmap = spec.header_map()
    positions: list[tuple[int, Col, str]] = []
    seen_cols = set()
    for pos, h in enumerate(header):
        if h is None or str(h).strip() == "":
            continue
        col = hmap.get(_norm_header(h))
        if col is None or col.field in seen_cols:
            result.ignored_columns.append(str(h))
            continue
        seen_cols.add(col.field)
        positions.append((pos, col, str(h).strip()))
    missing = [c.header for c in spec.columns if c.required and c.field not in seen_cols]
    if missing:
        # one error for a wrong template, not one per column
        found = "、".join(str(h).strip() for h in header if h is not None and str(h).strip())[:200] or "（空）"
        result.errors.append(RowIssue(1, "、".join(missing), "", f"缺少必填列（表头为：{found}）；请使用 {spec.kind} 的导入模板"))
        return result
    header_of = {col.field: h for _, col, h in positions}

    raw_rows: list[tuple[int, dict]] = []
    try:
        for rownum, cells in rows_iter:
            values = {col.field: (cells[pos] if pos < len(cells) else None) for pos, col, _ in positions}
            if all(is_blank(v) for v in values.values()):
                continue
            raw_rows.append((rownum, values))
            if progress and len(raw_rows) % PROGRESS_EVERY == 0:
                progress("read", len(raw_rows), 0)
    except TableError as exc:  # found part way (row limit, mixed encodings, damage): nothing written
        result.errors.append(RowIssue(1, "", "", str(exc)))
        return result
    total = result.rows = len(raw_rows)

    ctx = Context(user=user, update=update)
    spec.prefetch([r for _, r in raw_rows], ctx)

    def err(rownum, fld, value, reason):
        col_header = header_of.get(fld) or next((c.header for c in spec.columns if c.field == fld), fld)
        result.errors.append(RowIssue(rownum, col_header, "" if value is None else str(value), reason))

    cleaned: list[tuple[int, dict, dict]] = []
    for n, (rownum, raw) in enumerate(raw_rows, start=1):
        row, bad = {}, False
        for _, col, _h in positions:
            value = raw[col.field]
            if is_blank(value):
                if col.required:
                    err(rownum, col.field, "", "必填")
                    bad = True
                row[col.field] = None
                continue
            try:
                row[col.field] = col.parse(value, ctx)
            except CellError as exc:
                err(rownum, col.field, value, str(exc))
                bad = True
        if not bad:
            try:
                spec.clean(row, ctx)
            except RowError as exc:
                err(rownum, exc.field, raw.get(exc.field, ""), exc.reason)
                bad = True
            except CellError as exc:
                err(rownum, "", "", str(exc))
                bad = True
        if not bad:
            cleaned.append((rownum, row, raw))
        if progress and (n % PROGRESS_EVERY == 0 or n == total):
            progress("validate", n, total)

    # duplicates inside the file and against the database
    first_row: dict = {}
    keyed = []
    for rownum, row, raw in cleaned:
        k = spec.key(row)
        if k is None:
            keyed.append((rownum, row, None))
            continue
        fld, key = k
        if key in first_row:
            err(rownum, fld, raw.get(fld), f"与第{first_row[key]}行重复")
            continue
        first_row[key] = rownum
        keyed.append((rownum, row, key))
    existing = spec.lookup([k for _, _, k in keyed if k is not None], ctx)

    # Records the importer may not see are not "existing" while rows are validated: a key
    # registered outside their scope answers exactly like a key registered nowhere, so a file
    # with a bad row (never written) tells nothing. Only a file that would be written meets
    # such a record (below).
    hidden: dict = {}
    if user is not None and existing:
        pks = [o.pk for o in existing.values()]
        visible_ids = set()
        for chunk in services._chunks(pks, 900):
            visible_ids.update(spec.model.objects.visible_to(user).filter(pk__in=chunk).values_list("pk", flat=True))
        hidden = {k: o for k, o in existing.items() if o.pk not in visible_ids}
        existing = {k: o for k, o in existing.items() if o.pk in visible_ids}
    creates, updates, conflicts = [], [], []
    for rownum, row, key in keyed:
        obj = existing.get(key) if key is not None else None
        if obj is None:
            creates.append((None, row))
            if key is not None and key in hidden:
                conflicts.append((rownum, row, hidden[key]))
            continue
        fld = spec.key(row)[0]
        if not update:
            err(rownum, fld, _raw_value(row, fld), "已登记；如需更新已有记录，请使用更新模式（--update）")
        else:
            updates.append((obj, row))

    if not result.errors and conflicts:
        # The key is taken by a record the importer may not see: the registry cannot hold it twice
        # and the importer may not change it. One neutral message (no scope, no owner), nothing
        # written, and an audit entry: a probe that gets this answer is on record.
        for rownum, row, _obj in conflicts:
            fld = spec.key(row)[0]
            err(rownum, fld, _raw_value(row, fld), CONFLICT)
        from gridgov.core import audit

        audit.record(user, "import_conflict", object_type=spec.model._meta.label_lower, object_id=str(conflicts[0][2].pk),
                     detail=json.dumps({"kind": kind, "count": len(conflicts), "rows": [r for r, _, _ in conflicts[:50]],
                                        "ids": [o.pk for _, _, o in conflicts[:50]]}))

    if result.errors:
        result.errors.sort(key=lambda e: e.row)
        return result

    with transaction.atomic():
        creates = [(spec.build(row, ctx), row) for _, row in creates]
        for obj, row in updates:
            spec.assign(obj, row, ctx, creating=False)
        spec.before_write(creates, updates, ctx)
        spec.write(creates, updates, ctx, progress)  # the one write path of the kind
        spec.after(creates + updates, ctx)
    result.created, result.updated = len(creates), len(updates)
    return result


def _raw_value(row, fld):
    v = row.get(fld)
    if fld in ("id_number", "phone") and v:
        return v
    return getattr(v, "code", None) or getattr(v, "name", None) or ("" if v is None else str(v))


# ---- templates ----------------------------------------------------------------------------


def write_template(kind: str | Spec, out) -> None:
    """An .xlsx to fill in: sheet 数据 with the header row (a comment on each header), and sheet
    说明 explaining each column, with an example row."""
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    spec = get_spec(kind)
    book = Workbook()
    data = book.sheet("数据")
    ws = data.ws
    data.append([c.header for c in spec.columns])
    for i, c in enumerate(spec.columns, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True, color="C00000" if c.required else "000000")
        cell.fill = PatternFill("solid", fgColor="F2F2F2")
        note = ("必填。" if c.required else "选填。") + (c.help or "")
        cell.comment = Comment(note, "gridgov")
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = max(12, len(c.header) * 2 + 4)
        if c.parse in (p_id_number, p_phone) or c.parse is p_address or c.field in ("code", "credit_code", "household_no"):
            ws.column_dimensions[letter].number_format = "@"
    ws.freeze_panes = "A2"

    info = book.sheet("说明")
    info.append([f"{spec.label}导入模板（{spec.kind}）：在「数据」表第2行起每行填写一条记录；整表校验通过才会导入，否则不导入任何一行。"])
    info.append([])
    info.append(["列名", "英文列名", "必填", "说明", "示例"])
    for c in spec.columns:
        allowed = getattr(c.parse, "choices", None)
        help_ = c.help or ("可选值：" + "、".join(l for _, l in allowed) if allowed else "")
        info.append([c.header, c.field, "是" if c.required else "否", help_, c.example])
    info.append([])
    info.append(["示例行（复制到「数据」表时请改为真实数据）："])
    info.append([c.header for c in spec.columns])
    info.append([c.example for c in spec.columns])
    info.ws.column_dimensions["A"].width = 22
    info.ws.column_dimensions["B"].width = 18
    info.ws.column_dimensions["D"].width = 60
    info.ws.column_dimensions["E"].width = 26
    book.save(out)


# ---- one record at a time (the pages' forms and the API) ------------------------------------
#
# A record created or edited on a page or through the API is one row of the kind's import: the
# same columns, parsers, cross-column checks (`Spec.clean`), duplicate keys (`Spec.key` /
# `lookup`) and the same write (`build`/`assign`, `before_write`, `services.save_batch`,
# `after`). An edit is the record's current row (`current_row`) with the changed cells laid over
# it, validated whole, so a record never holds what an import would refuse.


class VolunteerTeamSpec(Spec):
    """Volunteer teams (not an import kind: created one at a time)."""

    kind = "volunteer_teams"
    label = gettext_noop("志愿服务队")
    model = VolunteerTeam
    columns = [
        Col("name", "队伍名称", ("name",), True, text(100), "全街道唯一", "阳光小区平安巡逻队"),
        Col("kind", "队伍类型", ("kind", "type"), True, p_enum(VolunteerTeam.KINDS), "", "平安巡逻",
            out=lambda o: o.get_kind_display()),
        Col("grid", "所属网格", ("grid", "grid_code"), True, p_grid, "队伍所在的社区或网格", "110106001001000",
            out=lambda o: _code(o.grid)),
    ]
    plain_fields = ("name", "kind", "grid")

    def key(self, row):
        return ("name", row["name"])

    def lookup(self, keys, ctx):
        return {t.name: t for t in VolunteerTeam.objects.filter(name__in=keys)}


def p_company(value, ctx):
    org = Organization.objects.filter(name=str(value).strip(), kind="property_company").select_related("grid").first()
    if org is None:
        raise CellError("未找到该物业公司（实有单位中类型为物业公司的单位名称）")
    return org


def p_compounds(value, ctx):
    out = []
    for part in _SPLIT.split(str(value).strip()):
        if not part:
            continue
        found = list(Compound.objects.filter(name=part).select_related("grid")[:2])
        if not found:
            raise CellError(f"未找到小区「{part}」")
        if len(found) > 1:
            raise CellError(f"小区名称「{part}」不唯一")
        if found[0].grid_id:
            ctx._check_scope(found[0].grid)
        out.append(found[0])
    return out


class PropertyProjectSpec(Spec):
    """Property projects (not an import kind: created one at a time)."""

    kind = "property_projects"
    label = gettext_noop("物业项目")
    model = PropertyProject
    columns = [
        Col("name", "项目名称", ("name",), True, text(150), "全街道唯一", "阳光小区物业项目"),
        Col("company", "物业公司", ("company",), True, p_company, "已登记的物业公司名称", "阳光物业服务有限公司",
            out=lambda o: o.company.name),
        Col("compounds", "服务小区", ("compounds",), False, p_compounds, "多个用顿号分隔", "阳光小区",
            out=lambda o: "、".join(c.name for c in o.compounds.all())),
        Col("manager_name", "项目经理", ("manager_name", "manager"), False, text(50), "", "王经理"),
        Col("contract_end", "合同到期", ("contract_end",), False, p_date, "", "2027-12-31"),
        Col("grid", "所属网格", ("grid", "grid_code"), False, p_grid, "不填时取第一个服务小区的网格", "",
            out=lambda o: _code(o.grid)),
    ]
    plain_fields = ("name", "company", "manager_name", "contract_end", "grid")

    def clean(self, row, ctx):
        if row.get("grid") is None:
            first = next((c for c in row.get("compounds") or [] if c.grid_id), None)
            if first is None:
                raise RowError("grid", "无法确定所属网格：请填写所属网格或服务小区")
            row["grid"] = ctx.grid_by_id[first.grid_id]

    def key(self, row):
        return ("name", row["name"])

    def lookup(self, keys, ctx):
        return {p.name: p for p in self.model.objects.filter(name__in=keys)}

    def after(self, pairs, ctx):
        for obj, row in pairs:
            if row.get("compounds") is not None:
                obj.compounds.set(row["compounds"])


#: the kinds created and edited one at a time: the import kinds (but addresses, which come from
#: the address register) and two kinds only kept here
RECORD_SPECS: dict[str, Spec] = {
    **{k: s for k, s in SPECS.items() if k != "addresses"},
    "volunteer_teams": VolunteerTeamSpec(),
    "property_projects": PropertyProjectSpec(),
}


class RowInvalid(Exception):
    """A record's row breaks the import's rules: {field: reason}."""

    def __init__(self, errors: dict[str, str], hidden=None):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        #: the record outside the user's scope that holds the row's key (CONFLICT), for the audit
        self.hidden = hidden


#: cells of the current row that must name a thing unambiguously (codes rather than names)
_CURRENT = {
    ("addresses", "community"): lambda o: o.community.code,
    ("buildings", "community"): lambda o: o.compound.community.code if o.compound_id else "",
    ("residents", "tags"): lambda o: "、".join(o.tags or []),
}


def current_row(spec: Spec, obj) -> dict:
    """The record as a row of its import (cell values the parsers read back). Personal fields
    are decrypted here, inside the write, to validate the row whole: never sent anywhere."""
    row = {}
    for c in spec.columns:
        if c.personal:
            enc = getattr(obj, f"{c.field}_enc", "")
            row[c.field] = crypto.decrypt(enc) if enc else ""
        elif (spec.kind, c.field) in _CURRENT:
            row[c.field] = _CURRENT[(spec.kind, c.field)](obj)
        elif c.out is not None:
            row[c.field] = c.out(obj)
        else:
            value = getattr(obj, c.field, None)
            row[c.field] = "" if value is None else value
    return row


def check_row(kind: str, values: dict, *, user=None, obj=None):
    """Validate one record's row with the import's rules: `values` are cells by column field
    (for an edit, only the changed ones; they are laid over the record's current row).
    Returns (spec, ctx, cleaned row); raises RowInvalid({field: reason}). Unknown fields are
    errors (a misspelt field must not be silently dropped)."""
    spec = RECORD_SPECS[kind]
    known = {c.field for c in spec.columns}
    errors = {k: "未知字段" for k in values if k not in known}
    if errors:
        raise RowInvalid(errors)
    raw = current_row(spec, obj) if obj is not None else {}
    raw.update(values)
    ctx = Context(user=user, update=obj is not None)
    row = {}
    for c in spec.columns:
        value = raw.get(c.field)
        if is_blank(value) or value == []:
            if c.required:
                errors[c.field] = "必填"
            row[c.field] = None
            continue
        try:
            row[c.field] = c.parse(value, ctx)
        except CellError as exc:
            errors[c.field] = str(exc)
    if errors:
        raise RowInvalid(errors)
    try:
        spec.clean(row, ctx)
    except RowError as exc:
        raise RowInvalid({exc.field or "grid": exc.reason}) from None
    except CellError as exc:
        raise RowInvalid({"grid": str(exc)}) from None
    k = spec.key(row)
    if k is not None:
        fld, key = k
        other = spec.lookup([key], ctx).get(key)
        if other is not None and (obj is None or other.pk != obj.pk):
            visible = user is None or spec.model.objects.visible_to(user).filter(pk=other.pk).exists()
            raise RowInvalid({fld: "已登记" if visible else CONFLICT}, hidden=None if visible else other)
    return spec, ctx, row


def write_row(spec: Spec, ctx: Context, row: dict, obj=None, *, bump: bool = True):
    """Write one validated row (check_row) as the import writes its rows: a new record when
    `obj` is None, else `obj` changed. Call inside a transaction. Returns the record."""
    if obj is None:
        obj = spec.build(row, ctx)
        creates, updates = [(obj, row)], []
    else:
        spec.assign(obj, row, ctx, creating=False)
        for f in spec.plain_fields:  # an edit may empty a cell (an import's empty cell keeps it)
            if f in row and row[f] in (None, "") and f not in ("grid", "house", "building", "resident"):
                field = spec.model._meta.get_field(f)
                if field.null:
                    setattr(obj, f, None)
                elif not field.is_relation and isinstance(field.get_default(), (str, list)):
                    setattr(obj, f, field.get_default())  # "" or [] (a resident's tags all removed)
        for f in spec.personal_fields:
            if not row.get(f):
                obj.set_personal(f, "")
        creates, updates = [], [(obj, row)]
    spec.before_write(creates, updates, ctx)
    services.save_batch(spec.model, [o for o, _ in creates], [o for o, _ in updates], spec.update_fields(), bump=bump)
    spec.after(creates + updates, ctx)
    return obj
