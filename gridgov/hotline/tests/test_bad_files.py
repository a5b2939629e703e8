"""Bad files given to `gridgov hotline import`: one clear error, nothing changed; formulas stay
text; the monthly xlsx export escapes formula-like text."""

import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from gridgov.hotline.models import Ticket

CANON = ["ticket_id", "received_at", "content", "satisfaction", "solved", "contacted"]


def csv_bytes(rows, encoding="utf-8"):
    return ("\r\n".join(",".join(f'"{c}"' for c in r) for r in rows) + "\r\n").encode(encoding)


def one_error(path):
    before = Ticket.objects.count()
    with pytest.raises(CommandError) as e:
        call_command("hotline", "import", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert Ticket.objects.count() == before
    lines = [ln for ln in str(e.value).splitlines() if ln.strip().startswith("row ")]
    assert len(lines) == 1, str(e.value)
    return lines[0]


def test_corrupt_wrong_template_huge_and_mixed(street, tmp_path, settings):
    (tmp_path / "cut.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    assert "无法读取 Excel 文件" in one_error(tmp_path / "cut.xlsx")
    (tmp_path / "nul.csv").write_bytes(b"ticket_id,content\x00\x00\n")
    assert "空字符" in one_error(tmp_path / "nul.csv")
    (tmp_path / "mixed.csv").write_bytes(csv_bytes([CANON, ["T1", "2024-03-05", "楼道堆物无人清理", "", "", ""]])
                                         + csv_bytes([["T2", "2024-03-06", "路灯不亮很久了", "", "", ""]], "gbk"))
    assert "混用了编码" in one_error(tmp_path / "mixed.csv")
    settings.IMPORT_MAX_ROWS = 500
    with open(tmp_path / "huge.csv", "wb") as fh:
        fh.write(b"ticket_id,received_at,content\n")
        for _ in range(100):
            fh.write(b"T,2024-03-05,x\n" * 10_000)  # 1,000,000 rows
    assert "最多 500 行" in one_error(tmp_path / "huge.csv")
    with pytest.raises(CommandError, match="no column for received_at"):
        call_command("hotline", "import", str(_write(tmp_path / "w.csv", csv_bytes([["单位", "地址"], ["a", "b"]]))))
    assert Ticket.objects.count() == 0


def _write(p, data):
    p.write_bytes(data)
    return p


def test_formulas_are_text_and_exports_escape_them(street, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(CANON)
    ws.append(["F1", "2024-03-05 09:00", '=HYPERLINK("http://evil.example","点我")', "不满意", "否", "否"])
    ws.append(["F2", "2024-03-06 09:00", "=cmd|' /C calc'!A0", "不满意", "否", "否"])
    wb.save(tmp_path / "f.xlsx")
    call_command("hotline", "import", str(tmp_path / "f.xlsx"), stdout=io.StringIO(), stderr=io.StringIO())
    assert Ticket.objects.get(ticket_id="F2").content == "=cmd|' /C calc'!A0"
    from gridgov.hotline.rates import export_xlsx, monthly_report

    out = tmp_path / "report.xlsx"
    export_xlsx(monthly_report("2024-03"), out)
    cells = [c for s in load_workbook(out).worksheets for r in s.iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    assert "'=cmd|' /C calc'!A0" in cells
