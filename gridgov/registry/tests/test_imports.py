from datetime import datetime

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from gridgov.registry import importers
from gridgov.registry.importers import run_import
from gridgov.registry.models import (
    Address, Building, Compound, House, Organization, PartyOrganization, Place, Resident, Volunteer, VolunteerTeam,
)

from .conftest import make_id, write_csv, write_xlsx

RES_HEAD = ["姓名", "身份证号", "联系电话", "性别", "出生日期", "户号", "与户主关系", "户籍地址", "现住址(标准地址编码)", "所属网格", "标签", "是否党员"]


def res_row(i, addr="AA10001", **over):
    idn = make_id("19800101", i)
    row = {"姓名": f"居民{i}", "身份证号": idn, "联系电话": f"138{i:08d}", "性别": "", "出生日期": "", "户号": f"H{i}",
           "与户主关系": "户主", "户籍地址": "北京市丰台区", "现住址(标准地址编码)": addr, "所属网格": "", "标签": "老年人、独居",
           "是否党员": "否"}
    row.update(over)
    return [row[h] for h in RES_HEAD]


def issues(result):
    return [(e.row, e.column, e.reason) for e in result.errors]


# ---- valid files, one per kind ------------------------------------------------------------


def test_residents_valid_xlsx(base, tmp_path):
    path = write_xlsx(tmp_path / "r.xlsx", [RES_HEAD, res_row(1), res_row(2, "AA20001", 标签="低保"), res_row(3, base["a1"].text)])
    result = run_import("residents", path)
    assert result.ok, issues(result)
    assert (result.created, result.updated) == (3, 0)
    r1 = Resident.objects.get(name="居民1")
    assert r1.grid_id == base["c1g1m1"].id and r1.house_id == base["house_a1"].id
    assert r1.tags == ["elderly", "living_alone"] and r1.gender == "M" and r1.birth_date.isoformat() == "1980-01-01"
    assert r1.phone_masked == "138****0001"
    r2 = Resident.objects.get(name="居民2")
    assert r2.grid_id == base["c1g2m1"].id and r2.tags == ["low_income"]
    assert Resident.objects.get(name="居民3").house_id == base["house_a1"].id  # by exact address text


def test_resident_at_address_without_house_gets_one(base, tmp_path):
    path = write_xlsx(tmp_path / "r.xlsx", [RES_HEAD, res_row(1, "AA10002"), res_row(2, "AA10002")])
    assert run_import("residents", path).ok
    house = House.objects.get(address=base["a1b"])
    assert house.grid_id == base["c1g1m1"].id
    assert set(Resident.objects.values_list("house_id", flat=True)) == {house.id}


def test_addresses_valid_creates_compounds_and_buildings(base, tmp_path):
    head = ["标准地址编码", "地址全称", "地址层级", "所属社区", "小区名称", "楼栋", "单元", "户室号", "所属网格", "经度", "纬度"]
    rows = [head, ["N001", "第1社区新华小区5号楼1单元101", "户", "", "新华小区", "5号楼", "1单元", "101", base["c1g1m2"].code, "", ""],
            ["N002", "第1社区新华小区5号楼1单元102", "house", "第1社区", "新华小区", "5号楼", "1单元", 102, base["c1g1m2"].name, "", ""]]
    result = run_import("addresses", write_xlsx(tmp_path / "a.xlsx", rows))
    assert result.ok, issues(result)
    a = Address.objects.get(code="N002")
    assert a.community_id == base["c1"].id and a.grid_id == base["c1g1m2"].id and a.room == "102"
    assert a.building.name == "5号楼" and a.compound.name == "新华小区"
    assert Building.objects.filter(name="5号楼").count() == 1 and Compound.objects.filter(name="新华小区").count() == 1


def test_address_grid_located_from_coordinates(base, tmp_path):
    # the real locator (STRtree over the small street): 116.395E 39.782N lies in c2g2m1
    node = base["c2g2m1"]
    head = ["标准地址编码", "地址全称", "经度", "纬度"]
    result = run_import("addresses", write_csv(tmp_path / "a.csv", [head, ["L1", "东边一户", "116.395", "39.782"]]))
    assert result.ok, issues(result)
    a = Address.objects.get(code="L1")
    assert a.grid_id == node.id and a.community_id == base["c2"].id
    bad = run_import("addresses", write_csv(tmp_path / "b.csv", [head, ["L2", "海外", "116.40", "30.0"]]))
    assert issues(bad) == [(2, "经度", "经纬度不在任何网格内")]


def test_buildings_and_houses_valid(base, tmp_path):
    head = ["所属社区", "小区名称", "小区类型", "楼栋名称", "层数", "单元数", "建成年份", "所属网格"]
    rows = [head, [base["c1"].code, "a1小区", "老旧小区", "1号楼", 6, 3, 1992, base["c1g1m1"].code],
            ["第1社区", "a1小区", "", "2号楼", "18", "2", "2005", base["c1g1m1"].code]]
    assert run_import("buildings", write_xlsx(tmp_path / "b.xlsx", rows), update=True).ok
    b1 = Building.objects.get(compound__name="a1小区", name="1号楼")
    assert (b1.floors, b1.units, b1.year_built) == (6, 3, 1992)
    assert b1.compound.kind == "old" and Building.objects.filter(name="2号楼").exists()

    head = ["标准地址编码", "房屋用途", "建筑面积(㎡)", "居住状态"]
    result = run_import("houses", write_xlsx(tmp_path / "h.xlsx", [head, ["AA10002", "住宅", "68.5", "出租"], ["AA30002", "商业", 120, ""]]))
    assert result.ok, issues(result)
    h = House.objects.get(address__code="AA10002")
    assert (h.use, str(h.area_m2), h.occupancy, h.grid_id) == ("residential", "68.50", "rented", base["c1g1m1"].id)
    assert House.objects.get(address__code="AA30002").grid_id == base["c2g1m2"].id


def test_organizations_places_party_orgs_volunteers_valid(base, tmp_path):
    head = ["单位名称", "单位类型", "统一社会信用代码", "标准地址编码", "联系人", "联系电话", "从业人数", "所属网格"]
    rows = [head, ["阳光物业", "物业公司", "91350100M000100Y43", "AA10001", "李四", "010-67991234", 12, ""],
            ["小卖部", "shop", "", "", "", "", "", base["c2g1"].code]]
    result = run_import("organizations", write_xlsx(tmp_path / "o.xlsx", rows))
    assert result.ok, issues(result)
    o = Organization.objects.get(name="阳光物业")
    assert o.grid_id == base["c1g1m1"].id and o.phone_masked.endswith("1234") and o.address_text == base["a1"].text

    head = ["场所名称", "场所类型", "地址", "经度", "纬度", "所属网格"]
    result = run_import("places", write_xlsx(tmp_path / "p.xlsx", [head, ["服务驿站", "服务驿站", "南门", 116.385, 39.787, base["c1g1m1"].code]]))
    assert result.ok, issues(result)
    assert Place.objects.get().grid_id == base["c1g1m1"].id

    head = ["组织名称", "组织类型", "所属节点", "覆盖网格", "书记", "党员人数"]
    rows = [head, ["第1社区党委", "党委", "第1社区", "", "王", 120],
            ["第1网格党支部", "党支部", base["c1g1"].code, f"{base['c1g1'].code}、{base['c1g2'].name}", "赵", "35"]]
    result = run_import("party_orgs", write_xlsx(tmp_path / "po.xlsx", rows))
    assert result.ok, issues(result)
    po = PartyOrganization.objects.get(name="第1网格党支部")
    assert set(po.grids.values_list("id", flat=True)) == {base["c1g1"].id, base["c1g2"].id} and po.member_count == 35

    VolunteerTeam.objects.create(name="平安巡逻队", kind="patrol", grid=base["c1"])
    head = ["姓名", "类型", "联系电话", "志愿服务队", "小区名称", "楼栋", "职责", "加入日期", "所属网格"]
    rows = [head, ["钱八", "楼门长", "13700001111", "", "a1小区", "1号楼", "信息员", "2023/5/1", ""],
            ["孙九", "志愿者", 13700002222, "平安巡逻队", "", "", "", "", ""]]
    result = run_import("volunteers", write_xlsx(tmp_path / "v.xlsx", rows))
    assert result.ok, issues(result)
    v = Volunteer.objects.get(name="钱八")
    assert v.grid_id == base["c1g1m1"].id and v.building.name == "1号楼" and v.joined.isoformat() == "2023-05-01"
    assert Volunteer.objects.get(name="孙九").grid_id == base["c1"].id


# ---- dates, encodings, headers ------------------------------------------------------------


def test_date_formats_and_excel_date_cells(base, tmp_path):
    rows = [RES_HEAD]
    for i, d in enumerate(["1980-01-01", "1980/1/1", "19800101", datetime(1980, 1, 1), 19800101, "1980年1月1日"], start=1):
        rows.append(res_row(i, 出生日期=d))
    result = run_import("residents", write_xlsx(tmp_path / "d.xlsx", rows))
    assert result.ok, issues(result)
    assert set(Resident.objects.values_list("birth_date", flat=True)) == {datetime(1980, 1, 1).date()}


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_csv_encodings(base, tmp_path, encoding):
    path = write_csv(tmp_path / "r.csv", [RES_HEAD, res_row(1, 姓名="欧阳娜娜"), res_row(2)], encoding=encoding)
    result = run_import("residents", path)
    assert result.ok, issues(result)
    assert Resident.objects.filter(name="欧阳娜娜").exists()


def test_english_aliases_and_ignored_columns(base, tmp_path):
    head = ["name", "id_number", "phone", "address", "序号"]
    result = run_import("residents", write_csv(tmp_path / "r.csv", [head, ["Li Lei", make_id(), "13800000001", "AA10001", "1"]]))
    assert result.ok, issues(result)
    assert result.ignored_columns == ["序号"]


def test_missing_required_column(base, tmp_path):
    result = run_import("residents", write_csv(tmp_path / "r.csv", [["姓名", "联系电话"], ["张三", "13800000001"]]))
    [(row, column, reason)] = issues(result)  # one error for a wrong template
    assert (row, column) == (1, "身份证号") and reason.startswith("缺少必填列（表头为：姓名、联系电话）")


# ---- row errors: right row and column -----------------------------------------------------


def test_each_kind_of_row_error_is_reported_at_its_row_and_column(base, tmp_path):
    good = make_id("19800101", 1)
    wrong_check = good[:-1] + ("1" if good[-1] != "1" else "2")
    rows = [
        RES_HEAD,
        res_row(1),                                      # row 2: valid
        res_row(2, 姓名=""),                              # row 3: required
        res_row(3, 身份证号=wrong_check),                  # row 4: checksum
        res_row(4, 联系电话="12345"),                      # row 5: phone
        res_row(5, 出生日期="1980-13-40"),                 # row 6: date
        res_row(6, 性别="未知"),                           # row 7: enum
        res_row(7, **{"现住址(标准地址编码)": "NOPE"}),     # row 8: unknown address
        res_row(8, addr="", 所属网格="不存在的网格"),        # row 9: unknown grid
        res_row(9, 标签="火星人"),                         # row 10: unknown tag
        res_row(10, 是否党员="也许"),                       # row 11: bool
        res_row(1, 姓名="重复"),                           # row 12: duplicate of row 2
        res_row(12, 出生日期="1990-01-01"),                # row 13: birth date disagrees with ID
        res_row(13, 所属网格=base["c2g1"].code),            # row 14: grid disagrees with address
        res_row(14, addr=""),                             # row 15: no way to place the resident
    ]
    result = run_import("residents", write_xlsx(tmp_path / "bad.xlsx", rows))
    got = {(e.row, e.column) for e in result.errors}
    assert got == {
        (3, "姓名"), (4, "身份证号"), (5, "联系电话"), (6, "出生日期"), (7, "性别"), (8, "现住址(标准地址编码)"),
        (9, "所属网格"), (10, "标签"), (11, "是否党员"), (12, "身份证号"), (13, "出生日期"), (14, "所属网格"), (15, "所属网格"),
    }, issues(result)
    by_row = {e.row: e for e in result.errors}
    assert "校验位" in by_row[4].reason and by_row[4].value == wrong_check
    assert by_row[3].reason == "必填"
    assert "第2行" in by_row[12].reason
    assert "男、女" in by_row[7].reason or "男" in by_row[7].reason
    assert Resident.objects.count() == 0


def test_id_number_stored_as_a_number_is_rejected(base, tmp_path):
    rows = [RES_HEAD, res_row(1, 身份证号=float(make_id("19800101", 2)[:15] + "000"))]
    result = run_import("residents", write_xlsx(tmp_path / "n.xlsx", rows))
    assert result.errors and result.errors[0].column == "身份证号"


def test_all_or_nothing_error_at_the_last_row(base, tmp_path):
    rows = [RES_HEAD] + [res_row(i) for i in range(1, 60)] + [res_row(60, 联系电话="bad")]
    result = run_import("residents", write_xlsx(tmp_path / "r.xlsx", rows))
    assert issues(result) == [(61, "联系电话", result.errors[0].reason)]
    assert Resident.objects.count() == 0 and House.objects.count() == 3


def test_duplicate_against_database_rejected_or_updated(base, tmp_path):
    assert run_import("residents", write_xlsx(tmp_path / "1.xlsx", [RES_HEAD, res_row(1)])).ok
    again = write_xlsx(tmp_path / "2.xlsx", [RES_HEAD, res_row(2), res_row(1, 姓名="改名", 联系电话="13999999999", 标签="")])
    rejected = run_import("residents", again)
    assert [(e.row, e.column) for e in rejected.errors] == [(3, "身份证号")] and "--update" in rejected.errors[0].reason
    assert Resident.objects.count() == 1
    result = run_import("residents", again, update=True)
    assert (result.ok, result.created, result.updated) == (True, 1, 1)
    r = Resident.objects.get(id_number_hash=Resident.objects.get(name="改名").id_number_hash)
    assert r.phone_masked == "139****9999" and r.tags == ["elderly", "living_alone"]  # empty cell keeps the tags


def test_address_errors_and_duplicates(base, tmp_path):
    head = ["标准地址编码", "地址全称", "所属社区", "所属网格", "经度"]
    rows = [head, ["AA10001", "已存在", "", base["c1g1"].code, ""], ["X1", "x", "第2社区", base["c1g1"].code, ""],
            ["X2", "y", "", "", ""], ["X3", "z", "", base["c1g1"].code, "116.3"]]
    result = run_import("addresses", write_xlsx(tmp_path / "a.xlsx", rows))
    assert [(e.row, e.column) for e in result.errors] == [(2, "标准地址编码"), (3, "所属社区"), (4, "所属网格"), (5, "纬度")]


# ---- the command and the error report -----------------------------------------------------


def test_command_prints_errors_saves_report_and_exits_nonzero(base, tmp_path, capsys):
    path = write_xlsx(tmp_path / "r.xlsx", [RES_HEAD, res_row(1), res_row(2, 联系电话="@SUM(1+1)")])
    report = tmp_path / "errors.xlsx"
    with pytest.raises(CommandError) as exc:
        call_command("import", "residents", str(path), "--errors", str(report))
    assert exc.value.returncode == 1
    out = capsys.readouterr().out
    assert "第3行「联系电话」" in out and "未写入任何数据" in out
    ws = load_workbook(report).active
    rows = list(ws.values)
    assert rows[0] == ("行号", "列", "值", "错误原因")
    assert rows[1][:3] == (3, "联系电话", "'@SUM(1+1)")
    assert Resident.objects.count() == 0

    csv_report = tmp_path / "errors.csv"
    with pytest.raises(CommandError):
        call_command("import", "residents", str(path), "--errors", str(csv_report))
    assert csv_report.read_bytes().startswith(b"\xef\xbb\xbf")


def test_command_success_reports_progress(base, tmp_path, capsys):
    path = write_csv(tmp_path / "r.csv", [RES_HEAD, res_row(1), res_row(2)], encoding="gbk")
    call_command("import", "residents", str(path))
    captured = capsys.readouterr()
    assert "新增 2" in captured.out and "校验 2/2" in captured.err and "写入 2/2" in captured.err


@pytest.mark.parametrize("kind", sorted(importers.SPECS))
def test_template_has_headers_comments_and_explanations(db, tmp_path, kind):
    out = tmp_path / f"{kind}.xlsx"
    call_command("import-template", kind, "--out", str(out))
    wb = load_workbook(out)
    spec = importers.SPECS[kind]
    data = wb["数据"]
    assert [c.value for c in data[1]] == [c.header for c in spec.columns]
    assert all(c.comment is not None for c in data[1])
    info = [r for r in wb["说明"].values]
    assert any(r and r[0] == spec.columns[0].header and r[2] in ("是", "否") for r in info)
    assert info[-1][0] == spec.columns[0].example  # the example row
    assert data.max_row == 1  # nothing to delete before filling in
