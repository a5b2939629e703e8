"""Label taxonomies for the text classifier: a list of labels, each with a name, an optional
description, the names of its children (sub-categories) and keywords.

The 12345 hotline taxonomy comes from a spreadsheet with three columns, level 1 / level 2 /
level 3 (一级分类 / 二级分类 / 三级分类); a label is a level-1 category and its children are its
level-2 names and its "level-2：level-3" paths."""

from __future__ import annotations

import csv
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path


class DataFileError(ValueError):
    """A data file that cannot be used; the message says which file, row and column."""


@dataclass
class Label:
    name: str
    description: str = ""
    children: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)

    def prompts(self) -> list[str]:
        """Short texts that stand for this label in the zero-shot scorer: "name：child" for each
        child, "name：keyword" for each keyword, "name：description"; the name alone if none."""
        out = []
        if self.description:
            out.append(f"{self.name}：{self.description}")
        out += [f"{self.name}：{child}" for child in self.children]
        out += [f"{self.name}：{kw}" for kw in self.keywords]
        return list(dict.fromkeys(out)) or [self.name]


@dataclass
class Taxonomy:
    labels: list[Label]
    source: str = ""

    def __post_init__(self):
        names = [lab.name for lab in self.labels]
        if not names:
            raise DataFileError(f"{self.source or 'taxonomy'}: no labels")
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise DataFileError(f"{self.source or 'taxonomy'}: duplicate label(s) {', '.join(dup)}")

    @property
    def names(self) -> list[str]:
        return [lab.name for lab in self.labels]

    def get(self, name: str) -> Label:
        for lab in self.labels:
            if lab.name == name:
                return lab
        raise KeyError(name)

    def restricted(self, names) -> "Taxonomy":
        """The same taxonomy limited to `names` (kept in taxonomy order)."""
        wanted = set(names)
        unknown = wanted - set(self.names)
        if unknown:
            raise DataFileError(
                f"label(s) not in the taxonomy {self.source or ''}: {', '.join(sorted(unknown))}".replace("  ", " ")
            )
        return Taxonomy([lab for lab in self.labels if lab.name in wanted], source=self.source)

    @classmethod
    def from_rows(cls, rows, source: str = "") -> "Taxonomy":
        """Rows of (level1, level2, level3, ...) names; blank cells continue the previous row's
        value (merged cells in spreadsheets)."""
        tree: "OrderedDict[str, OrderedDict[str, list[str]]]" = OrderedDict()
        prev: list[str] = []
        for row in rows:
            cells = [str(c).strip() if c is not None else "" for c in row]
            if not any(cells):
                continue
            filled, inherit = [], True
            for i, c in enumerate(cells):
                inherit = inherit and not c  # blanks inherit only left of the first filled cell
                filled.append(c or ((prev[i] if i < len(prev) else "") if inherit else ""))
            prev = filled
            l1 = filled[0]
            l2 = filled[1] if len(filled) > 1 else ""
            l3 = filled[2] if len(filled) > 2 else ""
            node = tree.setdefault(l1, OrderedDict())
            if l2:
                leaves = node.setdefault(l2, [])
                if l3 and l3 not in leaves:
                    leaves.append(l3)
        labels = []
        for l1, subs in tree.items():
            children = []
            for l2, leaves in subs.items():
                children += [f"{l2}：{l3}" for l3 in leaves] or [l2]
            labels.append(Label(name=l1, children=children))
        return cls(labels, source=source)

    @classmethod
    def from_file(cls, path) -> "Taxonomy":
        """Load a 1–3 level taxonomy from .xlsx (first sheet) or .csv; the first row is a header."""
        path = Path(path)
        if not path.is_file():
            raise DataFileError(f"taxonomy file not found: {path}")
        suffix = path.suffix.lower()
        if suffix in (".xlsx", ".xlsm"):
            import openpyxl

            from gridgov.core.tabular import TableError, check_xlsx

            try:  # a zip bomb is refused from its declared sizes before openpyxl inflates anything
                check_xlsx(path)
            except TableError as exc:
                raise DataFileError(f"{path}: not a readable .xlsx file ({exc})") from None
            try:
                wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
            except Exception as exc:  # openpyxl raises several kinds on a bad file
                raise DataFileError(f"{path}: not a readable .xlsx file ({exc})") from exc
            try:
                rows = list(wb.worksheets[0].iter_rows(values_only=True))
            finally:
                wb.close()
        elif suffix == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as fh:
                rows = [tuple(r) for r in csv.reader(fh)]
        else:
            raise DataFileError(f"{path}: taxonomy must be .xlsx or .csv")
        if len(rows) < 2:
            raise DataFileError(f"{path}: no rows under the header")
        header = [str(c or "").strip() for c in rows[0]]
        if not header or not header[0]:
            raise DataFileError(f"{path}: row 1, column A: expected a header such as 一级分类")
        for i, row in enumerate(rows[1:], start=2):
            if row and row[0] is None and i == 2:
                raise DataFileError(f"{path}: row 2, column A: the first level-1 name is empty")
        return cls.from_rows(rows[1:], source=str(path))
