import csv
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from gridgov.geo.coords import wgs84_to_bd09, wgs84_to_gcj02
from gridgov.testing import DLAT, DLON, LAT0, LON0

INSIDE = (LON0 + DLON * 0.1, LAT0 + DLAT * 0.9)  # micro-grid c1g1m1
INSIDE2 = (LON0 + DLON * 0.9, LAT0 + DLAT * 0.1)  # micro-grid c2g2m2
OUTSIDE = (LON0 - 0.05, LAT0)


def run(tmp_path, content: bytes, *extra):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes(content)
    stdout, stderr = StringIO(), StringIO()
    call_command("locate", str(src), "--lat-col", "纬度", "--lon-col", "经度", "--out", str(out), *extra, stdout=stdout, stderr=stderr)
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    return rows, stdout.getvalue(), stderr.getvalue()


def table(points, names=("事件",)):
    lines = ["名称,经度,纬度"]
    for i, (x, y) in enumerate(points):
        lines.append(f"{names[0]}{i},{x!r},{y!r}")
    return "\r\n".join(lines) + "\r\n"


def test_utf8_bom(street, tmp_path):
    rows, out, _ = run(tmp_path, table([INSIDE, OUTSIDE, INSIDE2]).encode("utf-8-sig"))
    assert rows[0] == ["名称", "经度", "纬度", "grid_code", "grid_name"]
    assert rows[1][3:] == [street["c1g1m1"].code, street["c1g1m1"].name]
    assert rows[2][3:] == ["", ""]
    assert rows[3][3] == street["c2g2m2"].code
    assert "3 row(s) (utf-8-sig): 2 in a grid, 1 outside every grid, 0 with bad coordinates" in out


def test_gbk_input_and_gcj02(street, tmp_path):
    pts = [wgs84_to_gcj02(*INSIDE), wgs84_to_gcj02(*INSIDE2)]
    rows, out, _ = run(tmp_path, table(pts).encode("gbk"), "--crs", "gcj02")
    assert rows[1][0] == "事件0"
    assert [r[3] for r in rows[1:]] == [street["c1g1m1"].code, street["c2g2m2"].code]
    assert "(gbk)" in out


def test_bd09(street, tmp_path):
    rows, _, _ = run(tmp_path, table([wgs84_to_bd09(*INSIDE2)]).encode("utf-8"), "--crs", "bd09")
    assert rows[1][3] == street["c2g2m2"].code


def test_bad_coordinates_reported_with_line(street, tmp_path):
    content = "名称,经度,纬度\na,116.39,39.785\nb,abc,39.785\nc,116.39,\nd,116.39,95\n".encode("utf-8")
    with pytest.raises(CommandError) as exc:
        run(tmp_path, content)
    msg = str(exc.value)
    assert "3 bad coordinate(s), nothing written" in msg
    assert "line 3: column '经度' value 'abc' is not a number" in msg
    assert "line 4: column '纬度' is empty" in msg
    assert "line 5: column '纬度' value '95' is outside -90..90" in msg
    assert not (tmp_path / "out.csv").exists()
    rows, out, err = run(tmp_path, content, "--skip-bad")
    assert len(rows) == 5 and rows[1][3] and rows[2][3:] == ["", ""]
    assert "skipped: line 3" in err and "3 with bad coordinates" in out


def test_missing_column(street, tmp_path):
    with pytest.raises(CommandError, match="column\\(s\\) '纬度' not in the header: name, 经度, lat"):
        run(tmp_path, b"name,\xe7\xbb\x8f\xe5\xba\xa6,lat\nx,1,2\n")
