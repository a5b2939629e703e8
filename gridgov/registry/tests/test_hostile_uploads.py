"""Uploads built to exhaust the server are refused with one clear error before the expensive
part: a zip bomb of an .xlsx (a huge shared-strings table, a member inflating far beyond its
compressed size, too much in all) before openpyxl loads anything; a CSV without line breaks
after one bounded line (it used to take quadratic time, iterated by line); an over-long cell with
its row and column; a file over the byte limit from its size. Each door that reads uploads:
the API, the /imports/ page, `gridgov import`, the 12345 ticket import, the taxonomy import.
The files are small, built in a temp dir; the limits are lowered where that keeps them small."""

import io
import zipfile
from xml.sax.saxutils import escape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from openpyxl import Workbook

from gridgov.accounts.models import Role
from gridgov.registry.importers import run_import
from gridgov.registry.models import Resident
from gridgov.testing import make_user

from .conftest import make_id, write_xlsx

HEAD = ["姓名", "身份证号", "联系电话", "现住址(标准地址编码)"]


def row(i, name=None):
    return [name or f"居民{i}", make_id("19800101", i), f"138{i:08d}", "AA10001"]


def xlsx_bytes(rows) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def shared_xlsx(rows, pad: int = 0) -> bytes:
    """A workbook as Excel writes it, text in the shared-strings table (openpyxl writes inline
    strings), that table padded with `pad` bytes of whitespace: valid XML, a few KB on disk."""
    strings: dict[str, int] = {}
    cells = "".join(
        f'<row r="{i}">' + "".join(f'<c r="{chr(65 + j)}{i}" t="s"><v>{strings.setdefault(str(v), len(strings))}</v></c>'
                                   for j, v in enumerate(r)) + "</row>"
        for i, r in enumerate(rows, start=1))
    decl = '<?xml version="1.0" encoding="UTF-8"?>'
    parts = {
        "[Content_Types].xml": f'{decl}<Types xmlns="{PKG}/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{CT}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{CT}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT}.sharedStrings+xml"/></Types>',
        "_rels/.rels": f'{decl}<Relationships xmlns="{PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'{decl}<workbook xmlns="{NS}" xmlns:r="{REL}"><sheets><sheet name="数据" sheetId="1" r:id="rId1"/>'
        "</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": f'{decl}<Relationships xmlns="{PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'{decl}<worksheet xmlns="{NS}"><sheetData>{cells}</sheetData></worksheet>',
        "xl/sharedStrings.xml": decl + " " * pad + f'<sst xmlns="{NS}" count="{len(strings)}" uniqueCount="{len(strings)}">'
        + "".join(f"<si><t>{escape(s)}</t></si>" for s in strings) + "</sst>",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text.encode())
    return out.getvalue()


def bomb() -> bytes:
    """8 MB of shared strings in about 10 KB: refused by its compression ratio."""
    return shared_xlsx([HEAD, row(1)], pad=8 * 1024 * 1024)


def api(user, name, data):
    c = Client()
    c.force_login(user)
    return c.post("/api/registry/import/residents", {"file": SimpleUploadedFile(name, data)})


def refused(resp, *words):
    assert resp.status_code == 400, resp.content
    errors = resp.json()["errors"]
    assert len(errors) == 1, errors
    for w in words:
        assert w in errors[0]["reason"], errors[0]["reason"]
    assert Resident.objects.count() == 0
    return errors[0]


@pytest.fixture
def admin(base):
    return make_user("admin", Role.ADMIN)


def test_xlsx_bomb_refused_by_its_compression_ratio_before_loading(admin):
    data = bomb()
    assert len(data) < 100_000
    refused(api(admin, "bomb.xlsx", data), "sharedStrings.xml", "疑似压缩炸弹")


def test_big_shared_strings_table_refused_from_the_declared_size(admin, settings):
    settings.IMPORT_MAX_SHARED_STRINGS_BYTES = 2000
    data = shared_xlsx([HEAD] + [row(i) for i in range(1, 60)])  # ~60 distinct names, IDs, phones: > 2000 bytes
    refused(api(admin, "r.xlsx", data), "共享字符串表过大", "GRIDGOV_IMPORT_MAX_SHARED_STRINGS_BYTES")


def test_too_much_uncompressed_in_all(admin, settings):
    settings.IMPORT_MAX_XLSX_BYTES = 20_000
    data = xlsx_bytes([HEAD] + [row(i) for i in range(1, 200)])
    refused(api(admin, "r.xlsx", data), "解压后过大", "GRIDGOV_IMPORT_MAX_XLSX_BYTES")


def test_too_many_zip_members(admin):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for i in range(1001):
            z.writestr(f"x/{i}", b"")
    refused(api(admin, "many.xlsx", out.getvalue()), "1001 个部件")


def test_csv_without_line_breaks_refused_after_one_bounded_line(admin, settings):
    settings.IMPORT_MAX_LINE_BYTES = 4096
    data = ",".join(HEAD).encode() + b"\n" + b"a" * 200_000  # no line break after the header
    err = refused(api(admin, "r.csv", data), "第2行超过 4096 字节", "GRIDGOV_IMPORT_MAX_LINE_BYTES")
    assert err["row"] == 1


def test_default_line_limit_on_the_import_page(admin, client):
    client.force_login(admin)
    data = b"x" * (1024 * 1024 + 10)  # one line of 1 MiB and more: the default limit
    r = client.post("/imports/", {"kind": "residents", "file": SimpleUploadedFile("r.csv", data)})
    assert r.status_code == 200
    assert "第1行超过 1.0 MB" in r.content.decode()


def test_long_cell_names_row_and_column(admin, settings, tmp_path):
    settings.IMPORT_MAX_CELL_CHARS = 100
    rows = [HEAD, row(1), row(2, "长" * 101)]
    csv_data = "\n".join(",".join(r) for r in rows).encode()
    refused(api(admin, "r.csv", csv_data), "第3行A列「姓名」过长：101 个字符，上限 100")
    refused(api(admin, "r.xlsx", xlsx_bytes(rows)), "第3行A列「姓名」过长")


def test_upload_over_the_byte_limit_refused_from_its_size(admin, settings, tmp_path):
    settings.IMPORT_MAX_BYTES = 1000
    data = "\n".join(",".join(row(i)) for i in range(1, 40)).encode()
    assert len(data) > 1000
    refused(api(admin, "r.csv", data), "文件过大", "GRIDGOV_IMPORT_MAX_BYTES")
    # the command reads the same way
    (tmp_path / "r.csv").write_bytes(data)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", "residents", str(tmp_path / "r.csv"), stdout=out)
    assert "文件过大" in out.getvalue()


def test_normal_workbooks_still_import(base, tmp_path):
    path = write_xlsx(tmp_path / "ok.xlsx", [HEAD] + [row(i) for i in range(1, 30)])
    assert run_import("residents", path).ok
    (tmp_path / "shared.xlsx").write_bytes(shared_xlsx([HEAD] + [row(i) for i in range(30, 60)]))
    assert run_import("residents", tmp_path / "shared.xlsx").ok
    assert Resident.objects.count() == 59


def test_hotline_ticket_import_uses_the_same_limits(street, tmp_path, settings):
    from gridgov.hotline import services as hotline

    settings.IMPORT_MAX_LINE_BYTES = 4096
    p = tmp_path / "t.csv"
    p.write_bytes("工单编号,受理时间,诉求内容\n".encode() + "很长".encode() * 10_000)
    with pytest.raises(hotline.TicketImportError, match="第2行超过 4096 字节"):
        hotline.import_file(p)
    (tmp_path / "b.xlsx").write_bytes(bomb())
    with pytest.raises(hotline.TicketImportError, match="疑似压缩炸弹"):
        hotline.import_file(tmp_path / "b.xlsx")


def test_taxonomy_import_bounded(db, settings, tmp_path):
    from gridgov.cases.taxonomy import TaxonomyImportError, import_taxonomy

    settings.IMPORT_MAX_BYTES = 1000
    p = tmp_path / "t.csv"
    p.write_bytes(b"scenario,item,code\n" + b"x" * 2000)
    with pytest.raises(TaxonomyImportError, match="文件过大"):
        import_taxonomy(p)
    with pytest.raises(TaxonomyImportError, match="文件过大"):
        import_taxonomy(open(p, "rb"))


def test_classifier_files_refuse_a_bomb(tmp_path):
    """The 12345 classifier's own files (`gridgov hotline train/classify`, the taxonomy) pass the
    same .xlsx check before openpyxl."""
    from gridgov.hotline.io import read_tickets
    from gridgov.hotline.taxonomy import DataFileError, Taxonomy

    (tmp_path / "b.xlsx").write_bytes(bomb())
    with pytest.raises(DataFileError, match="疑似压缩炸弹"):
        Taxonomy.from_file(tmp_path / "b.xlsx")
    with pytest.raises(DataFileError, match="疑似压缩炸弹"):
        read_tickets(tmp_path / "b.xlsx")
