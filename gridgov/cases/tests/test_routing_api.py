"""Staff edit the routing table through the API; every edit is kept; the next case follows it."""

import json

from gridgov.cases.models import RoutingRule, RoutingRuleHistory

from .test_api import client_for


def _post(c, url, body, method="post"):
    return getattr(c, method)(url, json.dumps(body), content_type="application/json")


def test_leader_edits_rules_with_history_and_routing_follows(people, report):
    c = client_for(people["lic"])
    assert len(c.get("/api/cases/routing/paths").json()) == 11
    n = RoutingRule.objects.count()
    # street lamps (PS01?) go straight to the community from now on
    lamp = report().item
    r = _post(c, "/api/cases/routing/rules", {"item": lamp.code, "path": "community_only", "priority": 1, "note": "路灯统一由社区处理"})
    assert r.status_code == 201, r.content
    rule_id = r.json()["id"]
    assert RoutingRule.objects.count() == n + 1
    case = report()
    assert case.path.code == "community_only" and case.handler_level == "community_secretary"
    assert case.routing_reason["current"]["rule"]["id"] == rule_id  # the case says why
    r = _post(c, f"/api/cases/routing/rules/{rule_id}", {"item": lamp.code, "path": "grid_only", "priority": 1}, "put")
    assert r.status_code == 200 and r.json()["path"] == "grid_only"
    assert c.delete(f"/api/cases/routing/rules/{rule_id}").status_code == 204
    actions = list(RoutingRuleHistory.objects.filter(rule_id=rule_id).values_list("action", "user__username"))
    assert actions == [("create", "lic"), ("update", "lic"), ("delete", "lic")]
    assert [h["action"] for h in c.get("/api/cases/routing/history", {"rule_id": rule_id}).json()] == ["delete", "update", "create"]


def test_only_admins_and_leaders_edit(people):
    body = {"path": "grid_only"}
    for name in ("sec", "gl", "section"):
        assert _post(client_for(people[name]), "/api/cases/routing/rules", body).status_code == 403
    assert client_for(people["resident"]).get("/api/cases/routing/rules").status_code == 403
    assert client_for(people["sec"]).get("/api/cases/routing/rules").status_code == 200


def test_bad_rule_is_explained(people):
    c = client_for(people["lic"])
    r = _post(c, "/api/cases/routing/rules", {"item": "NOPE", "path": "grid_only"})
    assert r.status_code == 400 and "item" in r.json()["detail"]
    r = _post(c, "/api/cases/routing/rules", {"path": "grid_only", "start_time": "22:00"})
    assert r.status_code == 400 and "time window" in r.json()["detail"]
