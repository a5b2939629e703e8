"""`gridgov locate`: add the finest grid to every row of a CSV file of points."""

import csv
import io
import math
from dataclasses import dataclass, field

import numpy as np

from .coords import to_wgs84_np
from .locator import get_locator


class LocateError(ValueError):
    pass


@dataclass
class LocateResult:
    rows: int = 0
    located: int = 0
    outside: int = 0
    bad: list[str] = field(default_factory=list)  # one message per bad value
    encoding: str = "utf-8"


def decode(raw: bytes) -> tuple[str, str]:
    """Text and encoding of a CSV file: UTF-8 (with or without BOM), else GBK (read as GB18030)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030"), "gbk"
    except UnicodeDecodeError as e:
        raise LocateError(f"cannot read the file as UTF-8 or GBK (byte {e.start})") from e


def _coord(value: str, col: str, lo: float, hi: float, line: int, bad: list[str]):
    text = (value or "").strip()
    if not text:
        bad.append(f"line {line}: column {col!r} is empty")
        return None
    try:
        v = float(text)
    except ValueError:
        bad.append(f"line {line}: column {col!r} value {text!r} is not a number")
        return None
    if not math.isfinite(v) or not lo <= v <= hi:
        bad.append(f"line {line}: column {col!r} value {text!r} is outside {lo:g}..{hi:g}")
        return None
    return v


def locate_csv(in_path, out_path, lat_col: str, lon_col: str, crs: str = "wgs84", skip_bad: bool = False) -> LocateResult:
    """Write `out_path` (UTF-8 with BOM, so spreadsheets read it): the input with grid_code and
    grid_name of the finest grid containing each row's point (empty outside every grid).

    Line numbers in errors count the header as line 1. Rows with bad coordinates make the whole
    run fail, listing each, unless `skip_bad` (then they get empty grid columns)."""
    with open(in_path, "rb") as fh:
        text, encoding = decode(fh.read())
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise LocateError(f"{in_path}: the file is empty") from None
    missing = [c for c in (lat_col, lon_col) if c not in header]
    if missing:
        raise LocateError(f"column(s) {', '.join(map(repr, missing))} not in the header: {', '.join(header)}")
    ilat, ilon = header.index(lat_col), header.index(lon_col)
    result = LocateResult(encoding=encoding)
    rows, lines = [], []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        rows.append(row)
        lines.append(reader.line_num)
    lons = np.full(len(rows), np.nan)
    lats = np.full(len(rows), np.nan)
    for k, (row, line) in enumerate(zip(rows, lines)):
        lat = _coord(row[ilat] if ilat < len(row) else "", lat_col, -90, 90, line, result.bad)
        lon = _coord(row[ilon] if ilon < len(row) else "", lon_col, -180, 180, line, result.bad)
        if lat is not None and lon is not None:
            lons[k], lats[k] = lon, lat
    if result.bad and not skip_bad:
        shown = result.bad[:30]
        more = f"\n… and {len(result.bad) - 30} more" if len(result.bad) > 30 else ""
        raise LocateError(f"{len(result.bad)} bad coordinate(s), nothing written:\n" + "\n".join(shown) + more)
    ok = np.isfinite(lons)
    wlon, wlat = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    if ok.any():
        wlon[ok], wlat[ok] = to_wgs84_np(lons[ok], lats[ok], crs)
    found = get_locator().finest_many(wlon, wlat)
    out_header = list(header)
    for col in ("grid_code", "grid_name"):
        if col not in out_header:
            out_header.append(col)
    icode, iname = out_header.index("grid_code"), out_header.index("grid_name")
    with open(out_path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(out_header)
        for row, ref in zip(rows, found):
            row = row + [""] * (len(out_header) - len(row))
            row[icode] = ref.code if ref else ""
            row[iname] = ref.name if ref else ""
            w.writerow(row)
    result.rows = len(rows)
    result.located = sum(1 for r in found if r is not None)
    result.outside = result.rows - result.located - int((~ok).sum())
    return result
