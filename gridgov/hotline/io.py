"""Reading hotline ticket files (CSV or XLSX) with clear errors: which file, which column, which row."""

from __future__ import annotations

import csv
from pathlib import Path

from .classifier import ticket_text
from .taxonomy import DataFileError

# accepted header names for each logical column (English first, then the source data's Chinese)
COLUMN_ALIASES = {
    "subject": ("subject", "留言主题", "主题"),
    "detail": ("detail", "留言详情", "详情"),
    "label": ("label", "一级分类", "一级标签", "类别"),
}


def _read_rows(path: Path) -> tuple[list[str], list[list]]:
    if not path.is_file():
        raise DataFileError(f"file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            with path.open(encoding="utf-8-sig", newline="") as fh:
                rows = list(csv.reader(fh))
        except UnicodeDecodeError as exc:
            raise DataFileError(f"{path}: not UTF-8 text ({exc})") from exc
    elif suffix in (".xlsx", ".xlsm"):
        import openpyxl

        from gridgov.core.tabular import TableError, check_xlsx

        try:  # a zip bomb is refused from its declared sizes before openpyxl inflates anything
            check_xlsx(path)
        except TableError as exc:
            raise DataFileError(f"{path}: not a readable .xlsx file ({exc})") from None
        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:
            raise DataFileError(f"{path}: not a readable .xlsx file ({exc})") from exc
        try:
            rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        finally:
            wb.close()
    else:
        raise DataFileError(f"{path}: expected a .csv or .xlsx file")
    if not rows:
        raise DataFileError(f"{path}: the file is empty (no header row)")
    header = [str(c or "").strip() for c in rows[0]]
    return header, rows[1:]


def _column(path, header, name, required=True):
    for alias in COLUMN_ALIASES[name]:
        if alias in header:
            return header.index(alias)
    if required:
        raise DataFileError(
            f"{path}: missing column '{name}' (accepted headers: {', '.join(COLUMN_ALIASES[name])}); "
            f"found: {', '.join(h for h in header if h) or 'none'}"
        )
    return None


def _cell(row, i):
    return row[i] if i is not None and i < len(row) else None


def read_tickets(path, need_label: bool = False) -> tuple[list[str], list[str] | None, list[str], list[list]]:
    """(texts, labels or None, header, raw rows). A ticket needs `subject` and `detail` columns
    (`label` too when `need_label`); a row with both texts empty, or an empty label, is an error."""
    path = Path(path)
    header, rows = _read_rows(path)
    i_sub = _column(path, header, "subject")
    i_det = _column(path, header, "detail")
    i_lab = _column(path, header, "label", required=need_label)
    texts, labels, kept = [], [] if need_label else None, []
    for n, row in enumerate(rows, start=2):
        if not any(c not in (None, "") for c in row):
            continue  # blank line
        text = ticket_text(_cell(row, i_sub), _cell(row, i_det))
        if not text:
            raise DataFileError(f"{path}: row {n}: both 'subject' and 'detail' are empty")
        if need_label:
            lab = str(_cell(row, i_lab) or "").strip()
            if not lab:
                raise DataFileError(f"{path}: row {n}, column 'label': empty")
            labels.append(lab)
        texts.append(text)
        kept.append(row)
    if not texts:
        raise DataFileError(f"{path}: no tickets under the header")
    return texts, labels, header, kept
