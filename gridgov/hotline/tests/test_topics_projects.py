import io
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from gridgov.accounts.models import Role
from gridgov.hotline import clusters, services
from gridgov.hotline.models import ProactiveProject
from gridgov.testing import make_user

from .util import ticket

LEAK = ["阳光星苑3号楼顶层漏雨严重，屋顶防水层损坏，请尽快维修",
        "阳光星苑3号楼楼顶漏雨，家里墙面发霉，屋顶防水层损坏",
        "阳光星苑3号楼顶层漏雨严重，防水层坏了，希望维修屋顶"]
OTHER = ["小区门口早市占道经营，噪音很大，影响出行",
         "建议在公园增加健身器材，方便老年人锻炼",
         "早市商贩占道经营，早上五点就开始吆喝扰民"]


def test_similarity_groups_near_duplicates_apart_from_other_topics():
    groups = clusters.similarity_groups(LEAK + OTHER)
    assert groups[0] == [0, 1, 2]
    assert [4] in groups  # the gym equipment request stands alone
    assert not any({0, 3} <= set(g) or {0, 4} <= set(g) for g in groups)


def test_month_clusters_and_command(places, street):
    for i, text in enumerate(LEAK * 2):
        ticket(f"L{i}", "2024-06", street["c1g1m1"], content=text, address=places["yg3"],
               category=("城乡建设", "房屋修缮", ""))
    for i, text in enumerate(OTHER):
        ticket(f"O{i}", "2024-06", street["c2g1m1"], content=text, category=("城乡建设", "市容环境", ""))
    top = clusters.month_clusters("2024-06")[0]
    assert top["tickets"] == 6 and top["category"] == "城乡建设/房屋修缮"
    assert top["places"][0]["name"] == "阳光星苑" and top["places"][0]["tickets"] == 6
    out = io.StringIO()
    call_command("hotline", "topics", "--month", "2024-06", stdout=out)
    assert "城乡建设/房屋修缮 — 6 tickets (阳光星苑 6)" in out.getvalue()


def test_recurring_problems(places, street):
    for m, n in (("2024-01", 2), ("2024-03", 2), ("2024-05", 1), ("2024-06", 1)):
        for i in range(n):
            ticket(f"R{m}{i}", m, street["c1g1m1"], address=places["yg3"], category=("城乡建设", "房屋修缮", ""))
    ticket("S1", "2024-06", street["c2g1m1"])  # once only
    rec = clusters.recurring_problems("2024-06")
    assert len(rec) == 1
    r = rec[0]
    assert (r["name"], r["category"], r["tickets"], r["months_with_tickets"]) == ("阳光星苑", "城乡建设/房屋修缮", 6, 4)
    assert [m["tickets"] for m in r["by_month"]] == [2, 0, 2, 0, 1, 1]
    assert clusters.recurring_problems("2024-06", min_tickets=7) == []


def test_project_lifecycle_and_effect(places, street, client):
    from gridgov.registry.models import Compound

    yg = Compound.objects.get(name="阳光星苑")
    before = {"2024-01": 3, "2024-02": 2, "2024-03": 4}
    after = {"2024-06": 1, "2024-07": 0}
    tickets = []
    for m, n in {**before, **after}.items():
        for i in range(n):
            tickets.append(ticket(f"P{m}{i}", m, street["c1g1m1"], address=places["yg3"], category=("城乡建设", "房屋修缮", "")))
    ticket("X1", "2024-02", street["c1g1m1"], address=places["yg3"], category=("城乡建设", "物业管理", ""))  # other category

    boss = make_user("sec", Role.COMMUNITY_SECRETARY, nodes=[street["c1"]])
    client.force_login(boss)
    r = client.post("/api/hotline/projects", {
        "title": "阳光星苑3号楼顶层修缮", "grid": street["c1g1m1"].code, "compound_id": yg.id,
        "category_l1": "城乡建设", "category_l2": "房屋修缮", "owner": "社区党委", "funding_source": "maintenance_fund",
        "budget": "120000.00", "ticket_ids": [t.id for t in tickets[:9]],
    }, content_type="application/json")
    assert r.status_code == 200, r.content
    pid = r.json()["id"]
    assert r.json()["status"] == "proposed" and len(r.json()["tickets"]) == 9
    r = client.post(f"/api/hotline/projects/{pid}/milestones", {"title": "勘察", "due_on": "2024-04-10"}, content_type="application/json")
    client.post(f"/api/hotline/projects/{pid}/milestones", {"title": "施工", "due_on": "2024-05-20"}, content_type="application/json")
    ms = r.json()["milestones"]
    r = client.post(f"/api/hotline/projects/{pid}/milestones/{ms[0]['id']}", {"progress": 100, "done_on": "2024-04-08"},
                    content_type="application/json")
    assert r.json()["progress"] == 50
    assert client.post(f"/api/hotline/projects/{pid}/status", {"status": "completed"}, content_type="application/json").status_code == 422
    for status, on in (("approved", "2024-03-20"), ("in_progress", "2024-04-01"), ("completed", "2024-05-31")):
        r = client.post(f"/api/hotline/projects/{pid}/status", {"status": status, "on": on}, content_type="application/json")
        assert r.status_code == 200 and r.json()["status"] == status
    p = client.get(f"/api/hotline/projects/{pid}").json()
    assert p["started_on"] == "2024-04-01" and p["completed_on"] == "2024-05-31"
    eff = p["effect"]
    assert [x["tickets"] for x in eff["before"]][-3:] == [3, 2, 4]  # Jan–Mar, the six months before April
    assert eff["mean_before"] == pytest.approx(9 / 6)
    assert [x["month"] for x in eff["after"]][:2] == ["2024-06", "2024-07"]
    assert [x["tickets"] for x in eff["after"]][:2] == [1, 0]
    # other users: a worker of the other community does not see it
    client.force_login(make_user("w2", nodes=[street["c2g1"]]))
    assert client.get(f"/api/hotline/projects/{pid}").status_code == 404
    assert client.get("/api/hotline/projects").json() == []


def test_project_outside_scope_refused(street):
    w = make_user("w", nodes=[street["c1g1"]])
    with pytest.raises(PermissionDenied):
        services.create_project(w, title="x", grid=street["c2g1"])
    p = services.create_project(w, title="y", grid=street["c1g1m1"])
    with pytest.raises(services.ProjectError):
        services.set_project_status(w, p, ProactiveProject.Status.COMPLETED, date(2024, 1, 1))
