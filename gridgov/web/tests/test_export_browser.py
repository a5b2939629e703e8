"""An export's page in a real browser: it shows the job waiting, then (polled by HTMX, without
a reload) the rows written and the download link once the worker has finished."""

import pytest
from playwright.sync_api import expect

from gridgov.accounts.models import Role
from gridgov.browser import axe_violations, login
from gridgov.testing import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_export_page_polls_until_the_file_is_ready(page, street, settings, tmp_path, monkeypatch):
    from gridgov.registry import exporters, tasks
    from gridgov.registry.models import ExportJob, Resident

    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(tasks, "export_task", lambda job_id: None)  # the worker runs it below
    for i, name in enumerate(["王小明", "王大力", "赵六"]):
        r = Resident(name=name, grid=street["c1g1m1"])
        r.set_personal("phone", f"1381234567{i}")
        r.save()
    make_user("sec", Role.COMMUNITY_SECRETARY, [street["c1"]])
    login(page, "sec")
    page.goto("/exports/")
    page.select_option("#kind", "residents")
    page.click("form.upload button[type=submit]")
    page.wait_for_url("**/exports/*-*/")
    status = page.locator("#export-job")
    expect(status).to_have_attribute("data-state", "queued")
    assert axe_violations(page) == []
    job = ExportJob.objects.get()
    assert exporters.run_job(job.pk).state == "done"
    expect(status).to_have_attribute("data-state", "done", timeout=10_000)  # no reload: HTMX polled
    expect(status).to_contain_text("已写入 3 / 3 行")
    with page.expect_download() as dl:
        page.click("#export-job a[download]")
    assert dl.value.suggested_filename == "residents.xlsx"
    assert axe_violations(page) == []
