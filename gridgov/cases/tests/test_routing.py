import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from gridgov.cases import routing
from gridgov.cases.models import Item, RoutingPath, RoutingRule, RoutingRuleHistory


def at(h, m=0):
    return timezone.make_aware(dt.datetime(2025, 9, 29, h, m))


def test_most_specific_rule_wins(taxonomy):
    lamp, gas, noise = (Item.objects.get(code=c) for c in ("PS01", "EM01", "WG03"))
    assert routing.choose_rule(lamp, "normal", 3, at(10)).path.code == "grid_community"
    assert routing.choose_rule(lamp, "minor", 3, at(10)).path.code == "grid_only"
    assert routing.choose_rule(lamp, "major", 3, at(10)).path.code == "grid_community_section_leader"  # scenario + urgency
    assert routing.choose_rule(gas, "minor", 3, at(10)).path.code == "emergency"  # item beats urgency
    assert routing.choose_rule(noise, "normal", 3, at(23)).path.code == "community_section"  # window wraps midnight
    assert routing.choose_rule(noise, "normal", 3, at(5, 59)).path.code == "community_section"
    assert routing.choose_rule(noise, "normal", 3, at(6)).path.code == "grid_community"


def test_rule_edits_keep_history(taxonomy, people):
    lamp = Item.objects.get(code="PS01")
    rule = routing.save_rule(RoutingRule(item=lamp, grid_level=3, path=RoutingPath.objects.get(code="grid_only")), people["lic"])
    assert routing.choose_rule(lamp, "normal", 3, at(10)) == rule
    assert routing.choose_rule(lamp, "normal", 2, at(10)).path.code == "grid_community"
    rule.path = RoutingPath.objects.get(code="community_only")
    routing.save_rule(rule, people["lic"])
    rule_id = rule.id
    routing.delete_rule(rule, people["lic"])
    history = list(RoutingRuleHistory.objects.filter(rule_id=rule_id).values_list("action", "data__path"))
    assert history == [("create", "grid_only"), ("update", "community_only"), ("delete", "community_only")]
    with pytest.raises(ValueError, match="both start_time and end_time"):
        routing.save_rule(RoutingRule(item=lamp, start_time=dt.time(8), path=rule.path))


def test_only_whom_the_table_lets_edit_rules(taxonomy, people):
    """The service asks the policy table (routing × update), not only the API: a community
    secretary's edit is refused and leaves no rule and no history."""
    from django.core.exceptions import PermissionDenied

    lamp = Item.objects.get(code="PS01")
    before = (RoutingRule.objects.count(), RoutingRuleHistory.objects.count())
    with pytest.raises(PermissionDenied):
        routing.save_rule(RoutingRule(item=lamp, grid_level=3, path=RoutingPath.objects.get(code="grid_only")), people["sec"])
    with pytest.raises(PermissionDenied):
        routing.delete_rule(RoutingRule.objects.first(), people["sec"])
    assert (RoutingRule.objects.count(), RoutingRuleHistory.objects.count()) == before


def test_a_level_with_nobody_is_skipped_and_said(people, street):
    path = RoutingPath.objects.get(code="grid_community")
    step, h, _ = routing.handler_for_step(path, 0, street["c2g1m1"], Item.objects.get(code="PS01"))
    assert step == 1 and h["user"] == people["sec2"]
    assert h["skipped"] == [{"level": "grid_leader", "why": "该网格及上级均未指定网格长"}]


def test_seed_command(db):
    out = io.StringIO()
    call_command("seed-taxonomy", stdout=out)
    assert "20 created" in out.getvalue() and "paths: 11" in out.getvalue()


def test_periodic_sweep_task_runs_the_sweep(people, report):
    from gridgov.cases.models import Clock
    from gridgov.cases.tasks import sla_sweep_every_minute

    case = report()
    Clock.objects.filter(case=case, kind="arrive").update(due_at=timezone.now() - dt.timedelta(seconds=1))
    assert sla_sweep_every_minute.call_local() == {"warned": 0, "breached": 1, "escalated": 1}
    case.refresh_from_db()
    assert case.state == "escalated"
