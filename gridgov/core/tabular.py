"""Reading spreadsheets people upload, defensively, and writing the spreadsheets the platform
hands out (the one writer, below).

Reading: bounded memory and time, a row limit, one clear error for a corrupt, oversized or
hostile file or one that mixes encodings, formulas kept as text.

* The file is at most GRIDGOV_IMPORT_MAX_BYTES long (default 100 MiB), checked from its size
  before anything is read.
* CSV is read in chunks of 64 KiB and cut into lines here (never the whole file, and never
  Python's or Django's line iteration, which is quadratic on a file without line breaks); a
  line longer than GRIDGOV_IMPORT_MAX_LINE_BYTES (default 1 MiB) is refused with its number. Each
  line is decoded on its own: a line that is valid UTF-8 is UTF-8, any other line GB18030 (a
  superset of GBK). A file with both UTF-8 Chinese lines and lines that are not UTF-8 mixes
  encodings and is refused with the line number where it was noticed (GB18030 would otherwise
  decode the UTF-8 part into mojibake).
* .xlsx is a zip: before openpyxl opens it, its central directory is read and the file is
  refused when it has more than 1,000 members, when a member's declared uncompressed size is
  more than GRIDGOV_IMPORT_MAX_XLSX_RATIO (default 100) times its compressed size, when the
  shared-strings table (which openpyxl loads whole) declares more than
  GRIDGOV_IMPORT_MAX_SHARED_STRINGS_BYTES (default 64 MiB), or when all members together declare
  more than GRIDGOV_IMPORT_MAX_XLSX_BYTES (default 200 MiB). Python's zipfile never inflates a
  member past its declared size (a member that lies is cut short and fails its CRC), so these
  declared sizes bound what is decompressed. Then openpyxl reads it in read-only (streaming) mode
  with `data_only=False`: a formula cell comes back as its text ("=HYPERLINK(…)"), never as a
  value computed by whoever saved the file, and nothing is ever evaluated here.
* No cell longer than GRIDGOV_IMPORT_MAX_CELL_CHARS (default 32767, Excel's own limit): the
  error names the row and the column.
* Both stop at GRIDGOV_IMPORT_MAX_ROWS data rows (default 100000): reading row limit + 1 raises
  `TableError` before the caller has built anything from the rows, so a file of a million rows
  is refused after reading the limit, with memory bounded by the limit.
"""

import csv
import os
import re
import zipfile
from pathlib import Path

from . import conf


_CJK = re.compile(r"[\u4e00-\u9fff]{2}")
CHUNK = 64 * 1024
MAX_XLSX_MEMBERS = 1000
MIB = 1024 * 1024

# setting name → (environment variable, default); read through gridgov.core.conf
LIMITS = conf.register({
    "IMPORT_MAX_ROWS": ("GRIDGOV_IMPORT_MAX_ROWS", 100_000),
    "IMPORT_MAX_BYTES": ("GRIDGOV_IMPORT_MAX_BYTES", 100 * MIB),
    "IMPORT_MAX_LINE_BYTES": ("GRIDGOV_IMPORT_MAX_LINE_BYTES", 1 * MIB),
    "IMPORT_MAX_CELL_CHARS": ("GRIDGOV_IMPORT_MAX_CELL_CHARS", 32767),
    "IMPORT_MAX_XLSX_BYTES": ("GRIDGOV_IMPORT_MAX_XLSX_BYTES", 200 * MIB),
    "IMPORT_MAX_SHARED_STRINGS_BYTES": ("GRIDGOV_IMPORT_MAX_SHARED_STRINGS_BYTES", 64 * MIB),
    "IMPORT_MAX_XLSX_RATIO": ("GRIDGOV_IMPORT_MAX_XLSX_RATIO", 100),
})


class TableError(ValueError):
    """The file as a whole cannot be read: the message says why and what to do."""


def import_limit(name: str) -> int:
    """A reading limit: Django setting `name` (tests use override_settings), else its
    environment variable, else the default (LIMITS)."""
    return conf.get_int(name)


def max_rows() -> int:
    return import_limit("IMPORT_MAX_ROWS")


def _mib(n: int) -> str:
    return f"{n / MIB:.1f} MB" if n >= MIB else f"{n} 字节"


def _binary(source):
    if isinstance(source, (str, Path)):
        return open(source, "rb"), True
    if isinstance(source, (bytes, bytearray)):
        import io

        return io.BytesIO(source), True
    return source, False


def _size(fh) -> int | None:
    size = getattr(fh, "size", None)
    if isinstance(size, int):
        return size
    try:
        pos = fh.tell()
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(pos)
        return size
    except (AttributeError, OSError, ValueError):
        return None


def check_size(fh) -> None:
    """Refuse a file longer than GRIDGOV_IMPORT_MAX_BYTES, from its size, before reading it."""
    size, most = _size(fh), import_limit("IMPORT_MAX_BYTES")
    if size is not None and size > most:
        raise TableError(f"文件过大：{_mib(size)}，上限 {_mib(most)}（GRIDGOV_IMPORT_MAX_BYTES）。请拆分为多个文件分批导入")


def check_xlsx(fh) -> None:
    """Refuse a zip bomb before openpyxl inflates anything (see the module docstring). `fh` is
    a seekable binary file (left at its start) or a path."""
    if isinstance(fh, (str, Path)):
        with open(fh, "rb") as f:
            return check_xlsx(f)
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    tail = min(size, 65536 + 22)
    fh.seek(size - tail)
    end = fh.read(tail)
    fh.seek(0)
    i = end.rfind(b"PK\x05\x06")
    if i < 0 or len(end) < i + 12:  # no end of central directory: cut short, or not a zip
        raise TableError("无法读取 Excel 文件（已损坏或不是 .xlsx）：BadZipFile")
    members = int.from_bytes(end[i + 10 : i + 12], "little")
    if members > MAX_XLSX_MEMBERS:
        raise TableError(f"Excel 文件结构异常：包含 {members} 个部件（上限 {MAX_XLSX_MEMBERS}），不予读取")
    try:
        with zipfile.ZipFile(fh) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise TableError(f"无法读取 Excel 文件（已损坏或不是 .xlsx）：{exc.__class__.__name__}") from None
    finally:
        fh.seek(0)
    ratio, shared = import_limit("IMPORT_MAX_XLSX_RATIO"), import_limit("IMPORT_MAX_SHARED_STRINGS_BYTES")
    most = import_limit("IMPORT_MAX_XLSX_BYTES")
    total = 0
    for info in infos:
        total += info.file_size
        name = info.filename
        if info.file_size > MIB and info.file_size > ratio * max(info.compress_size, 1):
            raise TableError(
                f"Excel 文件异常：部件 {name[:60]} 解压后 {_mib(info.file_size)}，是压缩后的 "
                f"{info.file_size // max(info.compress_size, 1)} 倍（上限 {ratio} 倍，GRIDGOV_IMPORT_MAX_XLSX_RATIO），疑似压缩炸弹，不予读取")
        if name.lower().endswith("sharedstrings.xml") and info.file_size > shared:
            raise TableError(
                f"Excel 文件的共享字符串表过大：解压后 {_mib(info.file_size)}，上限 {_mib(shared)}"
                "（GRIDGOV_IMPORT_MAX_SHARED_STRINGS_BYTES）。请拆分为多个文件，或另存为 CSV 后导入")
    if total > most:
        raise TableError(
            f"Excel 文件解压后过大：{_mib(total)}，上限 {_mib(most)}（GRIDGOV_IMPORT_MAX_XLSX_BYTES）。请拆分为多个文件分批导入")


def raw_lines(fh, max_line: int | None = None):
    """The lines of a binary file (each with its b"\\n"), read in CHUNK-sized pieces; a line
    longer than `max_line` bytes raises TableError with its number."""
    max_line = import_limit("IMPORT_MAX_LINE_BYTES") if max_line is None else max_line
    buf = b""
    n = 0

    def too_long(k):
        return TableError(f"第{k}行超过 {_mib(max_line)}（GRIDGOV_IMPORT_MAX_LINE_BYTES）：文件可能没有换行，或不是 CSV 文件")

    while True:
        chunk = fh.read(CHUNK)
        if not chunk:
            break
        buf += chunk  # never more than max_line + CHUNK: linear in the file
        start = 0
        while True:
            i = buf.find(b"\n", start)
            if i < 0:
                break
            n += 1
            if i + 1 - start > max_line:
                raise too_long(n)
            yield buf[start : i + 1]
            start = i + 1
        buf = buf[start:]
        if len(buf) > max_line:
            raise too_long(n + 1)
    if buf:
        yield buf


def decoded_lines(fh, info: dict | None = None):
    """Decode each line of a binary file on its own (see the module docstring). `info` gets
    the encoding seen: utf-8-sig, utf-8 or gbk."""
    info = {} if info is None else info
    info.setdefault("encoding", "utf-8")
    utf8_line = other_line = None
    first = True
    for n, raw in enumerate(raw_lines(fh), start=1):
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


def _limited(rows, most):
    for count, item in enumerate(rows, start=1):
        if count > most:
            raise TableError(f"行数超过上限：最多 {most} 行数据（GRIDGOV_IMPORT_MAX_ROWS）。请拆分为多个文件分批导入")
        yield item


def _cell(v):
    if v is None or isinstance(v, (str, int, float, bool)) or hasattr(v, "isoformat"):
        return v
    text = getattr(v, "text", None)  # ArrayFormula and the like: the formula as text
    return str(text if text is not None else v)


def _column_name(j: int) -> str:
    """0 → A, 25 → Z, 26 → AA (the spreadsheet's column letters)."""
    out = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        out = chr(65 + r) + out
    return out


def _checked(rows, header, most):
    """Refuse a cell longer than `most` characters, naming its row and column."""
    for n, cells in rows:
        for j, c in enumerate(cells):
            if isinstance(c, str) and len(c) > most:
                h = str(header[j])[:30] if j < len(header) and header[j] is not None else ""
                col = f"{_column_name(j)}列" + (f"「{h}」" if h else "")
                raise TableError(f"第{n}行{col}过长：{len(c)} 个字符，上限 {most}（GRIDGOV_IMPORT_MAX_CELL_CHARS）")
        yield n, cells


def open_table(source, filename: str | None = None, limit: int | None = None, info: dict | None = None):
    """(header cells, iterator of (row number, cells), format) of an .xlsx or .csv.

    Raises TableError at once for a file that is too big or a hostile .xlsx (see the module
    docstring); the iterator raises TableError when the file turns out to be unreadable part
    way, mixes encodings, has a line or a cell over the limits or more than `limit` data rows;
    callers read it fully before writing."""
    row_limit = max_rows() if limit is None else limit
    cell_limit = import_limit("IMPORT_MAX_CELL_CHARS")
    name = str(filename or getattr(source, "name", source) if not isinstance(source, (bytes, bytearray)) else filename or "")
    fh, close = _binary(source)
    try:
        check_size(fh)
        head = fh.read(4)
        fh.seek(0)
        looks_zip = head[:2] == b"PK"
        is_xlsx = name.lower().endswith((".xlsx", ".xlsm")) or (looks_zip and not name.lower().endswith((".csv", ".txt")))
        if is_xlsx:
            if not looks_zip:
                raise TableError("不是有效的 Excel (.xlsx) 文件：文件已损坏，或是改了扩展名的其他文件")
            check_xlsx(fh)
    except BaseException:
        if close:
            fh.close()
        raise
    if is_xlsx:
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

        next(_checked([(1, header)], header, cell_limit), None)
        return header, _limited(_checked(gen(), header, cell_limit), row_limit), "xlsx"

    reader = csv.reader(decoded_lines(fh, info))

    def csv_error(exc):
        if "field larger than field limit" in str(exc):
            return TableError(f"第{reader.line_num}行有一个字段超过 {csv.field_size_limit()} 个字符（可能缺少配对的引号）")
        return TableError(f"CSV 格式错误（第{reader.line_num or 1}行）：{exc}")

    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise csv_error(exc) from None

    def gen_csv():
        try:
            for row in reader:
                yield reader.line_num, row
        except csv.Error as exc:
            raise csv_error(exc) from None
        finally:
            if close:
                fh.close()

    next(_checked([(1, header)], header, cell_limit), None)
    return header, _limited(_checked(gen_csv(), header, cell_limit), row_limit), "csv"


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
