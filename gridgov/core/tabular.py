"""Reading spreadsheets people upload, defensively: bounded memory, a row limit, one clear
error for a corrupt file or a file that mixes encodings, formulas kept as text.

* CSV is decoded line by line while it is read (never the whole file at once): a line that is
  valid UTF-8 is UTF-8, any other line GB18030 (a superset of GBK). A file with both UTF-8
  Chinese lines and lines that are not UTF-8 mixes encodings and is refused with the line
  number where it was noticed (GB18030 would otherwise decode the UTF-8 part into mojibake).
* .xlsx is read with openpyxl in read-only (streaming) mode and `data_only=False`: a formula
  cell comes back as its text ("=HYPERLINK(…)"), never as a value computed by whoever saved the
  file, and nothing is ever evaluated here.
* Both stop at GRIDGOV_IMPORT_MAX_ROWS data rows (default 100000): reading row limit + 1 raises
  `TableError` before the caller has built anything from the rows, so a file of a million rows
  is refused after reading the limit, with memory bounded by the limit.
"""

import csv
import os
import re
import zipfile
from pathlib import Path

from django.conf import settings

_CJK = re.compile(r"[\u4e00-\u9fff]{2}")


class TableError(ValueError):
    """The file as a whole cannot be read: the message says why and what to do."""


def max_rows() -> int:
    return int(getattr(settings, "IMPORT_MAX_ROWS", None) or os.environ.get("GRIDGOV_IMPORT_MAX_ROWS", "100000"))


def _binary(source):
    if isinstance(source, (str, Path)):
        return open(source, "rb"), True
    if isinstance(source, (bytes, bytearray)):
        import io

        return io.BytesIO(source), True
    return source, False


def decoded_lines(fh, info: dict | None = None):
    """Decode each line of a binary file on its own (see the module docstring). `info` gets
    the encoding seen: utf-8-sig, utf-8 or gbk."""
    info = {} if info is None else info
    info.setdefault("encoding", "utf-8")
    utf8_line = other_line = None
    first = True
    for n, raw in enumerate(fh, start=1):
        if first:
            first = False
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
                utf8_line = n
                info["encoding"] = "utf-8-sig"
        if b"\x00" in raw:
            raise TableError(f"第{n}行含有空字符（NUL）：这不是文本 CSV 文件，可能已损坏，或是改了扩展名的其他文件")
        try:
            line = raw.decode("utf-8")
            if utf8_line is None and _CJK.search(line):
                utf8_line = n
        except UnicodeDecodeError:
            try:
                line = raw.decode("gb18030")
            except UnicodeDecodeError:
                raise TableError(f"第{n}行无法按 UTF-8 或 GBK 解码：请另存为 UTF-8 或 GBK 编码的 CSV，或 Excel (.xlsx)") from None
            if other_line is None:
                other_line = n
                info["encoding"] = "gbk"
        if utf8_line is not None and other_line is not None:
            raise TableError(
                f"文件混用了编码：第{utf8_line}行是 UTF-8，第{other_line}行是 GBK。请把整个文件另存为同一种编码（UTF-8 或 GBK）后重新导入")
        yield line


def _limited(rows, limit):
    for count, item in enumerate(rows, start=1):
        if count > limit:
            raise TableError(f"行数超过上限：最多 {limit} 行数据（GRIDGOV_IMPORT_MAX_ROWS）。请拆分为多个文件分批导入")
        yield item


def _cell(v):
    if v is None or isinstance(v, (str, int, float, bool)) or hasattr(v, "isoformat"):
        return v
    text = getattr(v, "text", None)  # ArrayFormula and the like: the formula as text
    return str(text if text is not None else v)


def open_table(source, filename: str | None = None, limit: int | None = None, info: dict | None = None):
    """(header cells, iterator of (row number, cells), format) of an .xlsx or .csv.

    The iterator raises TableError when the file turns out to be unreadable part way, mixes
    encodings or has more than `limit` data rows; callers read it fully before writing."""
    limit = max_rows() if limit is None else limit
    name = str(filename or getattr(source, "name", source) if not isinstance(source, (bytes, bytearray)) else filename or "")
    fh, close = _binary(source)
    head = fh.read(4)
    fh.seek(0)
    looks_zip = head[:2] == b"PK"
    if name.lower().endswith((".xlsx", ".xlsm")) or (looks_zip and not name.lower().endswith((".csv", ".txt"))):
        if not looks_zip:
            raise TableError("不是有效的 Excel (.xlsx) 文件：文件已损坏，或是改了扩展名的其他文件")
        from openpyxl import load_workbook

        try:
            wb = load_workbook(fh, read_only=True, data_only=False)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, IndexError) as exc:
            raise TableError(f"无法读取 Excel 文件（已损坏或不是 .xlsx）：{exc.__class__.__name__}") from None
        except Exception as exc:  # openpyxl raises many kinds for damaged files
            raise TableError(f"无法读取 Excel 文件（已损坏或不是 .xlsx）：{exc.__class__.__name__}") from None
        ws = wb["数据"] if "数据" in wb.sheetnames else wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        try:
            header = [_cell(c) for c in (next(rows, None) or [])]
        except Exception as exc:
            raise TableError(f"无法读取 Excel 文件（已损坏）：{exc.__class__.__name__}") from None

        def gen():
            try:
                for i, row in enumerate(rows, start=2):
                    yield i, [_cell(c) for c in row]
            except TableError:
                raise
            except Exception as exc:
                raise TableError(f"无法读取 Excel 文件第{i}行附近（已损坏）：{exc.__class__.__name__}") from None
            finally:
                wb.close()
                if close:
                    fh.close()

        return header, _limited(gen(), limit), "xlsx"

    reader = csv.reader(decoded_lines(fh, info))
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise TableError(f"CSV 格式错误（第1行）：{exc}") from None

    def gen_csv():
        try:
            for row in reader:
                yield reader.line_num, row
        except csv.Error as exc:
            raise TableError(f"CSV 格式错误（第{reader.line_num}行）：{exc}") from None
        finally:
            if close:
                fh.close()

    return header, _limited(gen_csv(), limit), "csv"


# ---- writing: the ONE way the platform writes a spreadsheet -------------------------------
#
# Every workbook (registry exports, import templates and error reports, the dashboard's
# stats.xlsx, the 12345 rates and monthly report) and every CSV a person opens in a spreadsheet
# is written through `Workbook` / `write_csv` below, so no value can become a formula: text that
# starts with = + - @ tab CR or NUL (OWASP "CSV injection", ASVS 1.2.10) gets a leading
# apostrophe and stays readable as text; numbers, booleans and dates stay what they are (a
# negative number is a number, not a formula); characters an .xlsx cannot hold (C0 controls)
# are dropped instead of failing the whole file.

FORMULA_STARTS = "=+-@\t\r\0"
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def escape_formula(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value and value[0] in FORMULA_STARTS:
        return "'" + value
    return value


def safe_cell(value):
    """A value ready for a cell: text escaped (escape_formula) and cleaned of control characters
    openpyxl refuses; numbers, booleans, dates and None unchanged; anything else as its text."""
    if value is None or isinstance(value, (bool, int, float)) or hasattr(value, "isoformat"):
        return value
    if hasattr(value, "as_tuple"):  # Decimal: a number
        return value
    text = value if isinstance(value, str) else str(value)
    return escape_formula(_ILLEGAL.sub("", text))


def safe_row(values) -> list:
    """A row with every cell made safe (see safe_cell)."""
    return [safe_cell(v) for v in values]


class Sheet:
    """A sheet of a `Workbook`: rows go in only through `append` (values made safe); `ws` is
    openpyxl's sheet, for formatting (widths, comments, fonts), never for values."""

    def __init__(self, ws, write_only: bool):
        self.ws = ws
        self.write_only = write_only

    def append(self, values, bold: bool = False):
        row = safe_row(values)
        if bold and self.write_only:
            from openpyxl.cell import WriteOnlyCell
            from openpyxl.styles import Font

            cells = []
            for v in row:
                cell = WriteOnlyCell(self.ws, value=v)
                cell.font = Font(bold=True)
                cells.append(cell)
            row = cells
        self.ws.append(row)
        if bold and not self.write_only:
            from openpyxl.styles import Font

            for cell in self.ws[self.ws.max_row]:
                cell.font = Font(bold=True)


class Workbook:
    """An .xlsx being written: `sheet(title)` adds a sheet, `save(out)` writes it to a path or a
    binary file, `getvalue()` returns its bytes. `write_only` streams rows (large exports)."""

    def __init__(self, write_only: bool = False):
        from openpyxl import Workbook as _Workbook

        self.write_only = write_only
        self.wb = _Workbook(write_only=write_only)
        if not write_only:
            self.wb.remove(self.wb.active)

    def sheet(self, title: str) -> Sheet:
        return Sheet(self.wb.create_sheet(title), self.write_only)

    def save(self, out) -> None:
        self.wb.save(out)

    def getvalue(self) -> bytes:
        import io

        buf = io.BytesIO()
        self.wb.save(buf)
        return buf.getvalue()


def write_csv(out, rows, bom: bool = True) -> None:
    """Rows to a CSV (a path, or a text file opened with newline=""), every cell made safe; UTF-8
    with BOM by default so that Excel opens it as UTF-8."""
    if isinstance(out, (str, Path)):
        with open(out, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
            write_csv(fh, rows)
        return
    w = csv.writer(out)
    for row in rows:
        w.writerow(["" if v is None else v for v in safe_row(row)])
