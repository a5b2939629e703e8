import json

import pytest
from django.core.management import CommandError, call_command

from gridgov.accounts.models import Duty, Role
from gridgov.registry import services
from gridgov.testing import make_user


def test_check_coverage_reports_grids_without_party_org_or_leader(street, capsys):
    services.create_party_org(name="第1社区第1网格党支部", grid=street["c1g1"], grids=[street["c1g1"], street["c1g2"]])
    services.create_party_org(name="第2社区党委", grid=street["c2"], grids=[street["c2"]])  # not on a grid
    make_user("lead1", Role.GRID_LEADER, [street["c1g1"], street["c2g2"]], duty=Duty.LEADER)
    make_user("work1", Role.GRID_WORKER, [street["c1g2"]], duty=Duty.WORKER)  # a worker is not a leader

    call_command("check-coverage", "--json")
    rep = json.loads(capsys.readouterr().out)
    assert rep["grids"] == 4 and rep["level"] == 2
    assert [g["code"] for g in rep["without_party_org"]] == [street["c2g1"].code, street["c2g2"].code]
    assert [g["code"] for g in rep["without_leader"]] == [street["c1g2"].code, street["c2g1"].code]

    call_command("check-coverage")  # a report: exit 0
    text = capsys.readouterr().out
    assert "无党组织 2 个" in text and street["c2g1"].name in text
    with pytest.raises(CommandError) as exc:
        call_command("check-coverage", "--strict")
    assert exc.value.returncode == 1


def test_check_coverage_strict_passes_when_complete(street):
    grids = [street[k] for k in ("c1g1", "c1g2", "c2g1", "c2g2")]
    services.create_party_org(name="联合党支部", grid=street["street"], grids=grids)
    make_user("lead", Role.GRID_LEADER, grids, duty=Duty.LEADER)
    call_command("check-coverage", "--strict")
