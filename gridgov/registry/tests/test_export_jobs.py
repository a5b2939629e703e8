"""Exports run as jobs with progress (registry.exporters, issue 17 item 7): the staff page and
the API start a job, the worker (huey) writes the file in batches of progress, the user who
asked (or an administrator) downloads it; anyone else gets 404. One audit entry per export, a
retried task does nothing, rights are checked again when the job runs, files expire."""

import io
import json
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from gridgov.accounts.models import GridAssignment, Role
from gridgov.core.models import AuditEntry
from gridgov.geo.models import GridNode
from gridgov.registry import exporters, services
from gridgov.registry.models import ExportJob
from gridgov.testing import make_user

from .conftest import make_id

ID_A, ID_B, ID_C = make_id("19700101", 1), make_id("19700101", 3), make_id("19700101", 5)


@pytest.fixture
def people(base, settings, tmp_path):
    settings.DATA_DIR = tmp_path  # the exports folder of this test
    services.create_resident(name="甲", id_number=ID_A, phone="13800000001", house=base["house_a1"])  # c1g1
    services.create_resident(name="乙", id_number=ID_B, phone="13800000003", house=base["house_a2"])  # c1g2
    services.create_resident(name="丙", id_number=ID_C, phone="13800000005", house=base["house_a3"])  # c2g1
    return base


@pytest.fixture
def immediate(monkeypatch):
    """huey runs a task when it is queued (the tests' worker)."""
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr(HUEY, "immediate", True)


def _rows(content: bytes):
    return list(load_workbook(io.BytesIO(content), read_only=True).active.iter_rows(values_only=True))


def _file(resp) -> bytes:
    return b"".join(resp.streaming_content)


def _exports():
    return AuditEntry.objects.filter(action="export")


def _start(client, kind="residents", **data):
    r = client.post("/exports/", {"kind": kind, **data})
    assert r.status_code == 302, r.status_code
    m = re.fullmatch(r"/exports/([0-9a-f-]{36})/", r["Location"])
    return ExportJob.objects.get(pk=m.group(1))


# ---- the page: start, progress, download --------------------------------------------------


def test_page_starts_a_job_shows_progress_and_serves_the_file_once_audited(people, client, django_capture_on_commit_callbacks):
    sec = make_user("sec", Role.COMMUNITY_SECRETARY, [people["c1"]])
    client.force_login(sec)
    assert "开始导出" in client.get("/exports/").content.decode()
    with django_capture_on_commit_callbacks() as queued:
        job = _start(client)
    assert len(queued) == 1  # the worker's task, queued after commit
    assert job.requested_by == sec and job.state == "queued" and job.kind == "residents" and job.filters == {}
    assert job.personal and job.scope_paths == [people["c1"].path]
    page = client.get(f"/exports/{job.pk}/").content.decode()
    assert "排队中" in page and 'hx-trigger="every 1s"' in page and 'http-equiv="refresh"' in page  # no JS too
    assert client.get(f"/exports/{job.pk}/file").status_code == 404  # nothing to download yet

    seen = []

    def watch(done, total):  # what the page shows while the worker writes
        if 0 < done < total:
            part = client.get(f"/exports/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
            seen.append(re.search(r"已写入 (\d+) / (\d+) 行", part).groups())

    finished = exporters.run_job(job.pk, batch=1, on_progress=watch)
    assert finished.state == "done" and finished.rows_done == finished.rows_total == 2
    assert seen == [("1", "2")]
    page = client.get(f"/exports/{job.pk}/").content.decode()
    assert "已完成" in page and f"/exports/{job.pk}/file" in page and "hx-trigger" not in page
    assert "http-equiv" not in page
    r = client.get(f"/exports/{job.pk}/file")
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")
    rows = _rows(_file(r))
    assert len(rows) == 3 and {rows[1][1], rows[2][1]} == {ID_A, ID_B}  # community 1, decrypted
    e = _exports().get()
    assert e.username == "sec" and e.object_id == str(job.pk) and e.fields == "id_number,phone"
    assert json.loads(e.detail) == {"kind": "residents", "count": 2, "personal_data": "revealed", "revealed_rows": 2}
    assert client.get("/exports/").content.decode().count(f"/exports/{job.pk}/") == 1  # listed


def test_export_pages_in_english(people, client):
    from gridgov.web.tests.test_i18n import EN, leftover_chinese

    client.force_login(make_user("sec", Role.COMMUNITY_SECRETARY, [people["c1"]]))
    names = [n.name for n in people.values() if isinstance(n, GridNode)]
    queued = _start(client)
    done = exporters.run_job(_start(client, grid=people["c1g1"].code).pk)
    for url in ("/exports/", f"/exports/{queued.pk}/", f"/exports/{done.pk}/"):
        page = client.get(url, **EN).content.decode()
        assert leftover_chinese(page, names) == [], url
    page = client.get(f"/exports/{done.pk}/", **EN).content.decode()
    assert "Completed" in page and "1 of 1 rows written" in page and "Download xlsx" in page


def test_the_file_lives_under_the_data_dir_not_a_public_path(people, client, settings):
    client.force_login(make_user("sec", Role.COMMUNITY_SECRETARY, [people["c1"]]))
    job = exporters.run_job(_start(client).pk)
    path = exporters.file_path(job)
    assert path.parent == settings.DATA_DIR / "exports" and path.exists()
    for public in (settings.STATIC_ROOT, settings.MEDIA_ROOT):
        assert not str(path).startswith(str(public))
    assert client.get(f"/media/exports/{path.name}").status_code == 404
    assert client.get(f"/static/exports/{path.name}").status_code == 404


def test_through_the_queue_in_one_request(people, client, immediate, django_capture_on_commit_callbacks):
    """With the worker running the task (huey immediate), the export is done on its page."""
    client.force_login(make_user("w1", Role.GRID_WORKER, [people["c1g1"]]))
    with django_capture_on_commit_callbacks(execute=True):
        job = _start(client)
    job.refresh_from_db()
    assert job.state == "done" and job.rows_done == 1
    assert _rows(_file(client.get(f"/exports/{job.pk}/file")))[1][1] == ID_A
    assert _exports().count() == 1


def test_asking_twice_for_the_same_unfinished_export_gives_the_same_job(people, client):
    client.force_login(make_user("sec", Role.COMMUNITY_SECRETARY, [people["c1"]]))
    first = _start(client)
    assert _start(client) == first
    assert _start(client, grid=people["c1g1"].code) != first  # other filters: another job
    exporters.run_job(first.pk)
    assert _start(client) != first  # finished: a new export


# ---- only the user who asked, or an administrator -----------------------------------------


def test_someone_elses_export_is_404_and_an_admins_download_is_audited(people, client):
    owner = make_user("sec", Role.COMMUNITY_SECRETARY, [people["c1"]])
    client.force_login(owner)
    job = exporters.run_job(_start(client).pk)
    # another secretary of the same community, with the same rights: not theirs
    client.force_login(make_user("sec2", Role.COMMUNITY_SECRETARY, [people["c1"]]))
    missing = "/exports/00000000-0000-4000-8000-000000000000/"
    assert client.get(missing).status_code == 404
    for url in (f"/exports/{job.pk}/", f"/exports/{job.pk}/file"):
        assert client.get(url).status_code == 404
    for url in (f"/api/registry/exports/{job.pk}", f"/api/registry/exports/{job.pk}/file"):
        r = client.get(url)
        assert r.status_code == 404 and ID_A not in r.content.decode(errors="replace")
    assert client.get(missing.rstrip("/")).status_code in (404, 301)
    assert str(job.pk) not in client.get("/exports/").content.decode()
    # an administrator may: the download is audited (who read whose export)
    client.force_login(make_user("adm", Role.ADMIN))
    assert client.get(f"/exports/{job.pk}/").status_code == 200
    assert _rows(_file(client.get(f"/exports/{job.pk}/file")))[1][1] == ID_A
    d = AuditEntry.objects.get(action="export_download")
    assert d.username == "adm" and d.object_id == str(job.pk) and json.loads(d.detail)["requested_by"] == "sec"
    assert _exports().count() == 1


def test_a_role_without_the_export_right_gets_403(people, client):
    client.force_login(make_user("res", Role.RESIDENT))
    assert client.post("/exports/", {"kind": "residents"}).status_code == 403
    client.force_login(make_user("w1", Role.GRID_WORKER, [people["c1g1"]]))
    assert client.post("/exports/", {"kind": "cases"}).status_code == 404  # no such export
    assert client.post("/exports/", {"kind": "residents", "grid": people["c2"].code}).status_code == 404  # not theirs
    assert not ExportJob.objects.exists()


# ---- once: a retried task writes and audits nothing more -----------------------------------


def test_a_retried_job_does_not_write_or_audit_twice(people, client, immediate, settings):
    from gridgov.registry.tasks import export_task

    client.force_login(make_user("sec", Role.COMMUNITY_SECRETARY, [people["c1"]]))
    job = _start(client)
    assert export_task(str(job.pk)) is not None  # the worker runs it
    path = exporters.file_path(ExportJob.objects.get(pk=job.pk))
    stamp = path.stat().st_mtime_ns
    for _ in range(2):  # huey retries it, or it was queued twice
        export_task(str(job.pk))
        assert exporters.run_job(job.pk) is None
    assert _exports().count() == 1 and path.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in (settings.DATA_DIR / "exports").iterdir()) == [path.name]


def test_progress_is_written_in_batches(people, client):
    for i in range(7):
        services.create_resident(name=f"丁{i}", id_number=make_id("19800101", 10 + i), house=people["house_a1"])
    client.force_login(make_user("adm", Role.ADMIN))
    job = _start(client)
    with CaptureQueriesContext(connection) as ctx:
        job = exporters.run_job(job.pk, batch=3)
    assert job.rows_done == 10
    updates = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('UPDATE "registry_exportjob"')]
    # the claim, the total, one per 3 rows (3, 6, 9), the end: never one per row
    assert len(updates) == 1 + 1 + 3 + 1


# ---- the rights when the job runs ----------------------------------------------------------


def test_export_right_removed_before_the_job_runs_fails_it(people, client):
    sec = make_user("sec", Role.COMMUNITY_SECRETARY, [people["c1"]])
    client.force_login(sec)
    job = _start(client)
    sec.role = Role.RESIDENT
    sec.save()
    job = exporters.run_job(job.pk)
    assert job.state == "failed" and job.error == "revoked" and not job.file
    assert not _exports().exists() and not list(exporters.exports_dir().iterdir())
    sec.role = Role.COMMUNITY_SECRETARY  # to see the page again
    sec.save()
    assert "您已无权导出这类数据" in client.get(f"/exports/{job.pk}/").content.decode()


def test_personal_data_right_removed_before_the_job_runs_masks(people, client):
    w = make_user("w1", Role.GRID_WORKER, [people["c1"]])
    client.force_login(w)
    job = _start(client)
    assert job.personal
    w.role = Role.SECTION_STAFF  # may still export, no longer read ID numbers
    w.save()
    job = exporters.run_job(job.pk)
    assert job.state == "done" and job.revealed_rows == 0
    rows = _rows(_file(client.get(f"/exports/{job.pk}/file")))
    assert len(rows) == 3 and all("*" in r[1] for r in rows[1:]) and ID_A not in {r[1] for r in rows}
    assert json.loads(_exports().get().detail)["personal_data"] == "masked"


def test_rights_gained_after_asking_are_not_used(people, client):
    """Rows: what the user saw when asking and still sees; personal data: the role allowed it
    then and allows it now."""
    s = make_user("s1", Role.SECTION_STAFF, [people["c1g1"]])
    client.force_login(s)
    job = _start(client)
    assert not job.personal and job.scope_paths == [people["c1g1"].path]
    s.role = Role.GRID_WORKER
    s.save()
    GridAssignment.objects.create(user=s, node=people["c2"], duty="worker")
    job = exporters.run_job(job.pk)
    rows = _rows(_file(client.get(f"/exports/{job.pk}/file")))
    assert [r[0] for r in rows[1:]] == ["甲"] and "*" in rows[1][1]


def test_a_downloader_who_lost_the_right_gets_403(people, client):
    w = make_user("w1", Role.GRID_WORKER, [people["c1"]])
    client.force_login(w)
    job = exporters.run_job(_start(client).pk)
    assert job.revealed_rows == 2
    w.role = Role.SECTION_STAFF  # the file holds plaintext they may no longer read
    w.save()
    assert client.get(f"/exports/{job.pk}/file").status_code == 403


# ---- expiry --------------------------------------------------------------------------------


def test_files_expire_after_the_ttl(people, client, settings):
    client.force_login(make_user("sec", Role.COMMUNITY_SECRETARY, [people["c1"]]))
    job = exporters.run_job(_start(client).pk)
    path = exporters.file_path(job)
    assert exporters.purge()["expired"] == 0 and path.exists()
    assert exporters.expires_at(job) == job.finished_at + timedelta(hours=24)
    assert exporters.purge(timezone.now() + timedelta(hours=25))["expired"] == 1
    job.refresh_from_db()
    assert job.state == "expired" and not job.file and not path.exists()
    assert client.get(f"/exports/{job.pk}/file").status_code == 404
    assert client.get(f"/api/registry/exports/{job.pk}/file").status_code == 404
    assert "文件已过期删除" in client.get(f"/exports/{job.pk}/").content.decode()
    settings.EXPORT_TTL_HOURS = 1
    job2 = exporters.run_job(_start(client).pk)
    ExportJob.objects.filter(pk=job2.pk).update(finished_at=timezone.now() - timedelta(hours=2))
    _start(client)  # the next request purges too
    assert ExportJob.objects.get(pk=job2.pk).state == "expired"


def test_purge_fails_stopped_jobs_and_deletes_stray_files(people, client):
    import os

    client.force_login(make_user("sec", Role.COMMUNITY_SECRETARY, [people["c1"]]))
    job = _start(client)
    later = timezone.now() + timedelta(minutes=20)
    ExportJob.objects.filter(pk=job.pk).update(state="running")  # its worker died mid-way
    stray = exporters.exports_dir() / "left-over.part"
    stray.write_bytes(b"x")
    os.utime(stray, (0, 0))
    out = exporters.purge(later)
    assert out["interrupted"] == 1 and out["stray"] == 1 and not stray.exists()
    job.refresh_from_db()
    assert job.state == "failed" and job.error == "interrupted"
    assert exporters.run_job(job.pk) is None  # and a late task does nothing
    queued = _start(client)
    assert exporters.purge(timezone.now() + timedelta(hours=25))["not_run"] == 1
    assert ExportJob.objects.get(pk=queued.pk).error == "not_run"


# ---- the API: the same job -----------------------------------------------------------------


def test_api_starts_polls_and_downloads_the_same_job(people, client, immediate, django_capture_on_commit_callbacks):
    client.force_login(make_user("w1", Role.GRID_WORKER, [people["c1"]]))
    body = json.dumps({"kind": "residents", "grid": people["c1g2"].code})
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/api/registry/exports", body, content_type="application/json")
    assert r.status_code == 202 and r.json()["state"] == "queued"
    job_id = r.json()["id"]
    s = client.get(f"/api/registry/exports/{job_id}").json()
    assert s["state"] == "done" and s["rows_done"] == s["rows_total"] == 1 and s["filters"] == {"grid": people["c1g2"].code}
    assert s["file"] == f"/api/registry/exports/{job_id}/file" and s["expires_at"]
    rows = _rows(_file(client.get(s["file"])))
    assert [r[1] for r in rows[1:]] == [ID_B]  # only grid c1g2
    assert json.loads(_exports().get().detail)["filters"] == {"grid": people["c1g2"].code}
    assert client.get(f"/exports/{job_id}/").status_code == 200  # and its page
    bad = [
        ({"kind": "cases"}, 404),
        ({"kind": "residents", "grid": people["c2"].code}, 404),
    ]
    for payload, status in bad:
        assert client.post("/api/registry/exports", json.dumps(payload), content_type="application/json").status_code == status
    client.force_login(make_user("res", Role.RESIDENT))
    assert client.post("/api/registry/exports", json.dumps({"kind": "residents"}),
                       content_type="application/json").status_code == 403
    assert client.get(f"/api/registry/exports/{job_id}").status_code == 404


# ---- the command -----------------------------------------------------------------------------


def test_command_runs_the_same_job_with_progress_and_keeps_no_copy(people, tmp_path, capsys):
    make_user("w1", Role.GRID_WORKER, [people["c1"]])
    out = tmp_path / "r.xlsx"
    call_command("export", "residents", "--user", "w1", "--out", str(out))
    captured = capsys.readouterr()
    assert "导出 0/2" in captured.err and "导出 2/2" in captured.err
    assert "2 rows written" in captured.out and "decrypted" in captured.out
    assert len(list(load_workbook(out).active.values)) == 3
    job = ExportJob.objects.get()
    assert job.requested_by.username == "w1" and job.state == "expired" and not job.file  # its copy deleted
    assert not list(exporters.exports_dir().iterdir())
    assert _exports().get().object_id == str(job.pk)
    call_command("export", "residents", "--user", "w1", "--out", str(out), "--grid", people["c1g2"].code)
    assert len(list(load_workbook(out).active.values)) == 2
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("export", "residents", "--user", "w1", "--out", str(out), "--grid", people["c2"].code)
