import json
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from gridgov.accounts import duties
from gridgov.accounts.models import Duty, GridAssignment, Role
from gridgov.registry import services
from gridgov.testing import make_user


def _run(*args):
    """(exit code, output) of check-coverage."""
    try:
        call_command("check-coverage", *args)
        return 0
    except CommandError as exc:
        return exc.returncode


def test_check_coverage_reports_grids_without_party_org_leader_or_worker(street, capsys):
    services.create_party_org(name="第1社区第1网格党支部", grid=street["c1g1"], grids=[street["c1g1"], street["c1g2"]])
    services.create_party_org(name="第2社区党委", grid=street["c2"], grids=[street["c2"]])  # not on a grid
    make_user("lead1", Role.GRID_LEADER, [street["c1g1"], street["c2g2"]], duty=Duty.LEADER)
    make_user("work1", Role.GRID_WORKER, [street["c1g2"], street["c1g1"]], duty=Duty.WORKER)  # a worker is not a leader

    assert _run("--json") == 1  # gaps: exit 1, with the list
    rep = json.loads(capsys.readouterr().out)
    assert rep["grids"] == 4 and rep["level"] == 2 and rep["date"] == timezone.localdate().isoformat()
    assert [g["code"] for g in rep["without_party_org"]] == [street["c2g1"].code, street["c2g2"].code]
    assert [g["code"] for g in rep["without_leader"]] == [street["c1g2"].code, street["c2g1"].code]
    assert [g["code"] for g in rep["without_worker"]] == [street["c2g1"].code, street["c2g2"].code]

    assert _run() == 1
    text = capsys.readouterr().out
    assert "无党组织 2 个" in text and "无网格员 2 个" in text and street["c2g1"].name in text


def test_check_coverage_passes_when_complete_and_follows_the_date(street, capsys):
    grids = [street[k] for k in ("c1g1", "c1g2", "c2g1", "c2g2")]
    services.create_party_org(name="联合党支部", grid=street["street"], grids=grids)
    make_user("lead", Role.GRID_LEADER, grids, duty=Duty.LEADER)
    work = make_user("work", Role.GRID_WORKER, grids, duty=Duty.WORKER)
    GridAssignment.objects.filter(user=work).update(since=date(2024, 1, 1))
    assert _run() == 0
    # the worker leaves c2g1: a gap from the next day, none before
    admin = make_user("adm", Role.ADMIN)
    yesterday = timezone.localdate() - timedelta(days=1)
    duties.end_duty(admin, GridAssignment.objects.get(user=work, node=street["c2g1"]), yesterday)
    capsys.readouterr()
    assert _run("--json") == 1
    assert [g["code"] for g in json.loads(capsys.readouterr().out)["without_worker"]] == [street["c2g1"].code]
    assert _run("--date", yesterday.isoformat()) == 0
    assert _run("--date", "2023-12-31") == 1  # before the worker started
    with pytest.raises(CommandError):
        call_command("check-coverage", "--date", "31/12/2023")
