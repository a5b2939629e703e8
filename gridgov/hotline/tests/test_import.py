import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from gridgov.hotline import services
from gridgov.hotline.models import Ticket

from .util import point_in

CANON = ["ticket_id", "received_at", "content", "category", "address", "community", "lat", "lon",
         "contacted", "solved", "satisfaction"]
CHINESE = ["工单编号", "受理时间", "反映内容", "问题分类", "事发地址", "所属社区", "纬度", "经度",
           "是否联系", "是否解决", "评价"]


def write_csv(path, header, rows, encoding="utf-8"):
    import csv

    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def write_xlsx(path, header, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return str(path)


def rows_for(street):
    x, y = point_in(street["c2g1m2"])
    return [
        ["T1", "2024-03-05 09:30", "楼道堆物无人清理", "城乡建设/物业管理", "阳光星苑三号楼２单元１０１室", "第1社区", "", "", "是", "是", "满意"],
        ["T2", "2024/3/6 14:00", "路灯不亮", "", "", "", f"{y}", f"{x}", "否", "否", ""],
        ["T3", "2024-03-07", "小区噪音", "环境保护", "幸福里", "", "", "", "是", "否", "基本满意"],
    ]


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("hotline", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_canonical_csv_places_and_classifies(places, street, tmp_path):
    path = write_csv(tmp_path / "t.csv", CANON, rows_for(street))
    out, err = run("import", path)
    assert "3 created, 0 updated" in out and "saved: 3/3" in err
    t1 = Ticket.objects.get(ticket_id="T1")
    assert (t1.category_l1, t1.category_l2, t1.category_source) == ("城乡建设", "物业管理", "import")
    assert t1.address_match == "matched" and t1.matched_address == places["yg3-2-101"]
    assert t1.grid == street["c1g1m1"] and t1.community == street["c1"]
    assert t1.month == "2024-03" and timezone.localtime(t1.received_at).hour == 9
    assert (t1.contacted, t1.solved, t1.satisfaction) == (True, True, "satisfied")
    t2 = Ticket.objects.get(ticket_id="T2")
    assert t2.address_match == "coords" and t2.grid == street["c2g1m2"] and t2.community == street["c2"]
    assert t2.category_l1 == "" and t2.category_source == ""  # no trained model: stays unclassified
    t3 = Ticket.objects.get(ticket_id="T3")
    assert t3.address_match == "pending" and {c["id"] for c in t3.address_candidates} == {places["xf1"].id, places["xf2"].id}
    assert t3.satisfaction == "basic" and t3.grid is None


def test_chinese_headers_xlsx_and_reimport_updates(places, street, tmp_path):
    rows = rows_for(street)
    path = write_xlsx(tmp_path / "t.xlsx", CHINESE, rows)
    run("import", path)
    rows[0][10] = "不满意"
    rows[1][8] = "是"
    rows.append(["T4", "2024-04-01 08:00", "新的诉求", "", "翠海明苑12号楼", "", "", "", "是", "是", ""])
    path = write_xlsx(tmp_path / "t2.xlsx", CHINESE, rows)
    out, _ = run("import", path)
    assert "1 created, 3 updated" in out
    assert Ticket.objects.count() == 4
    assert Ticket.objects.get(ticket_id="T1").satisfaction == "unsatisfied"
    assert Ticket.objects.get(ticket_id="T2").contacted is True
    t4 = Ticket.objects.get(ticket_id="T4")
    assert t4.matched_address == places["ch12"] and t4.community == street["c2"]


def test_gbk_csv_with_mapping(places, street, tmp_path):
    header = ["单号", "受理时间", "描述", "地址"]
    path = write_csv(tmp_path / "g.csv", header, [["G1", "2024-05-01 10:00", "垃圾清运不及时", "阳光星苑5栋"]], encoding="gbk")
    out, _ = run("import", path, "--mapping", "ticket_id=单号,content=描述")
    assert "1 created" in out and "csv (gbk)" in out
    t = Ticket.objects.get(ticket_id="G1")
    assert t.content == "垃圾清运不及时" and t.matched_address == places["yg5"]


def test_bom_csv(street, tmp_path):
    path = write_csv(tmp_path / "b.csv", CANON[:3], [["B1", "2024-05-01", "内容"]], encoding="utf-8-sig")
    out, _ = run("import", path)
    assert "1 created" in out and Ticket.objects.filter(ticket_id="B1").exists()


def test_row_errors_all_or_nothing(street, tmp_path):
    rows = [
        ["E1", "2024-03-05 09:30", "好的行", "", "", "", "", "", "是", "是", "满意"],
        ["E2", "2024-13-45", "坏日期", "", "", "", "", "", "是", "是", "满意"],
        ["E3", "2024-03-05", "", "", "", "", "", "", "也许", "是", "很好"],
        ["E1", "2024-03-05", "重复", "", "", "", "39.9", "", "是", "是", ""],
    ]
    path = write_xlsx(tmp_path / "bad.xlsx", CHINESE, rows)
    with pytest.raises(CommandError) as e:
        run("import", path)
    msg = str(e.value)
    assert "nothing imported" in msg
    assert "row 3, column 受理时间 ('2024-13-45'): not a date" in msg
    assert "row 4, column 反映内容 (''): empty" in msg
    assert "row 4, column 是否联系 ('也许'): expected 是/否" in msg
    assert "row 4, column 评价 ('很好')" in msg
    assert "row 5, column 工单编号 ('E1'): repeats row 2" in msg
    assert "row 5, column 经度 (''): latitude and longitude go together" in msg
    assert Ticket.objects.count() == 0


def test_missing_required_column(street, tmp_path):
    path = write_csv(tmp_path / "m.csv", ["工单编号", "内容"], [["X", "y"]])
    with pytest.raises(CommandError, match="no column for received_at"):
        run("import", path)


def test_api_post_tickets_staff_only(street, client):
    from gridgov.accounts.models import Role
    from gridgov.testing import make_user

    x, y = point_in(street["c1g2m2"])
    body = [{"ticket_id": "API1", "received_at": "2024-06-01 10:00", "content": "井盖缺失", "lat": y, "lon": x,
             "contacted": "是", "solved": True, "satisfaction": "满意"}]
    client.force_login(make_user("res", Role.RESIDENT))
    assert client.post("/api/hotline/tickets", body, content_type="application/json").status_code == 403
    client.force_login(make_user("sec", Role.LEADER))
    r = client.post("/api/hotline/tickets", body, content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["created"] == 1
    t = Ticket.objects.get(ticket_id="API1")
    assert t.grid == street["c1g2m2"] and t.solved and t.contacted
    body[0]["received_at"] = "bogus"
    r = client.post("/api/hotline/tickets", body, content_type="application/json")
    assert r.status_code == 422 and r.json()["errors"][0]["column"] == "received_at"


def test_classifier_used_when_no_category(street, monkeypatch):
    monkeypatch.setattr(services, "classify_texts", lambda texts: [("城乡建设/物业管理/电梯", 0.8) for _ in texts])
    from gridgov.accounts.models import Role
    from gridgov.testing import make_user

    user = make_user("boss", Role.LEADER)
    r = services.import_records(user, [{"ticket_id": "C1", "received_at": "2024-01-02", "content": "电梯坏了"},
                                       {"ticket_id": "C2", "received_at": "2024-01-02", "content": "x", "category": "民政"}])
    assert r.classified == 1
    t = Ticket.objects.get(ticket_id="C1")
    assert (t.category_l1, t.category_l2, t.category_l3, t.category_source, t.category_confidence) == (
        "城乡建设", "物业管理", "电梯", "classifier", 0.8)
    assert Ticket.objects.get(ticket_id="C2").category_source == "import"
