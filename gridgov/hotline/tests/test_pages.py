"""The 12345 office's pages through the test client: the ticket list and page (scope, filters,
category correction), the category API, the address queue, topics → project, projects, the
case page's link back to its ticket, the nav entry."""

import pytest
from gridgov.accounts import policy
from gridgov.accounts.models import STAFF_ROLES, Duty, Role
from gridgov.hotline import services
from gridgov.hotline.models import HotlineEvent, ProactiveProject, Ticket
from gridgov.testing import make_user

from .test_topics_projects import LEAK
from .util import ticket

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def fast_passwords(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def people(street):
    return {
        "leader": make_user("leader", Role.LEADER),
        "gw": make_user("gw", Role.GRID_WORKER, [street["c1g1"]]),
        "sec": make_user("sec", Role.COMMUNITY_SECRETARY, [street["c1"]], duty=Duty.SECRETARY),
        "section": make_user("section", Role.SECTION_STAFF, [street["c1"]]),
        "resident": make_user("resident", Role.RESIDENT),
    }


def html(r) -> str:
    assert r.status_code == 200, (r.status_code, r.content[:300])
    return r.content.decode()


def test_ticket_list_in_scope_with_filters_search_and_pages(street, people, client):
    mine = ticket("T-MINE", "2024-03", street["c1g1m1"], content="楼道灯不亮了", category=("城乡建设", "物业管理", ""))
    ticket("T-OTHER-GRID", "2024-03", street["c1g2m1"], content="垃圾没人清运")
    far = ticket("T-FAR", "2024-04", street["c2g1m2"], content="夜间施工噪音扰民", category=("环境保护", "噪声扰民", ""),
                 contacted=False, solved=False, satisfaction="unsatisfied")
    client.force_login(people["gw"])
    page = html(client.get("/hotline/tickets/"))
    assert "T-MINE" in page and "T-OTHER-GRID" not in page and "T-FAR" not in page
    assert "共 1 张工单" in page
    assert client.get(f"/hotline/tickets/{far.pk}/").status_code == 404  # outside the scope: as if missing
    assert client.get(f"/hotline/tickets/{mine.pk}/").status_code == 200

    client.force_login(people["leader"])
    page = html(client.get("/hotline/tickets/"))
    assert all(t in page for t in ("T-MINE", "T-OTHER-GRID", "T-FAR"))
    row = page[page.index("T-FAR"):].split("</tr>")[0]
    assert "未联系" in row and "未解决" in row and "不满意" in row
    for params, want in [
        ({"month": "2024-04"}, {"T-FAR"}),
        ({"grid": street["c1"].code}, {"T-MINE", "T-OTHER-GRID"}),
        ({"grid": street["c1g1"].code}, {"T-MINE"}),
        ({"category": "环境保护"}, {"T-FAR"}),
        ({"q": "施工"}, {"T-FAR"}),
        ({"q": "T-MINE"}, {"T-MINE"}),
        ({"match": "coords"}, {"T-MINE", "T-OTHER-GRID", "T-FAR"}),
        ({"match": "pending"}, set()),
        ({"case": "yes"}, set()),
        ({"case": "no", "month": "2024-03"}, {"T-MINE", "T-OTHER-GRID"}),
        ({"source": "import", "category": "环境保护"}, {"T-FAR"}),
    ]:
        rows = html(client.get("/hotline/tickets/", params, headers=HX))
        assert "<html" not in rows  # HTMX gets the rows only
        assert {t for t in ("T-MINE", "T-OTHER-GRID", "T-FAR") if f">{t}<" in rows} == want, params
    # the grid filter is scoped too
    client.force_login(people["gw"])
    assert client.get("/hotline/tickets/", {"grid": street["c2"].code}).status_code == 404

    client.force_login(people["leader"])
    for i in range(50):
        ticket(f"P{i:02d}", "2024-05", street["c1g1m1"])
    page = html(client.get("/hotline/tickets/", {"month": "2024-05"}))
    assert "共 50 张工单" in page and "第 1" not in page  # exactly one page
    ticket("P50", "2024-05", street["c1g1m1"])
    page = html(client.get("/hotline/tickets/", {"month": "2024-05"}))
    assert "第 1 / 2 页" in page and 'href="?month=2024-05&amp;page=2"' in page
    rows2 = html(client.get("/hotline/tickets/", {"month": "2024-05", "page": 2}, headers=HX))
    assert rows2.count('href="/hotline/tickets/') == 1 and "第 2 / 2 页" in rows2


def test_ticket_row_and_page_show_category_source_confidence_and_case(street, people, client):
    from gridgov.cases.taxonomy import seed_taxonomy

    seed_taxonomy()
    t = ticket("C1", "2024-03", street["c1g1m1"], content="小区门口的路灯坏了，晚上一片漆黑", category=("城乡建设", "", ""))
    Ticket.objects.filter(pk=t.pk).update(category_source="classifier", category_confidence=0.6234)
    case = services.open_case(Ticket.objects.get(pk=t.pk))
    client.force_login(people["sec"])
    page = html(client.get("/hotline/tickets/"))
    assert "自动分类 · 置信度 0.62" in page
    assert f'<a href="/cases/{case.pk}/">{case.number}</a>' in page and case.get_state_display() in page
    page = html(client.get(f"/hotline/tickets/{t.pk}/"))
    assert f'href="/cases/{case.pk}/"' in page and "提交上报" in page  # the case's timeline summary
    assert "gridgov hotline train --from-db" in page  # corrections feed the next training


def test_category_correction_through_the_page(street, people, client):
    t = ticket("K1", "2024-03", street["c1g1m1"], content="学校门口早晚接送孩子的车堵死了路口", category=("卫生计生", "", ""))
    Ticket.objects.filter(pk=t.pk).update(category_source="classifier", category_confidence=0.41)
    client.force_login(people["gw"])
    page = html(client.get(f"/hotline/tickets/{t.pk}/"))
    assert '<option selected>卫生计生</option>' in page and "<option>交通运输</option>" in page  # the taxonomy's labels

    r = client.post(f"/hotline/tickets/{t.pk}/category/", {"category_l1": "交通运输", "category_l2": "城市交通"}, headers=HX)
    box = html(r)
    assert "<html" not in box and "交通运输/城市交通" in box and "人工更正" in box and 'role="status"' in box
    assert '<ol id="history" class="timeline" hx-swap-oob="true">' in box  # the history follows
    t.refresh_from_db()
    assert (t.category_l1, t.category_l2, t.category_source, t.category_confidence) == ("交通运输", "城市交通", "staff", None)
    examples, _ = services.staff_labelled_examples()
    assert examples == [("学校门口早晚接送孩子的车堵死了路口", "交通运输")]
    ev = HotlineEvent.objects.get(ticket=t)
    assert ev.action == "category" and ev.user == people["gw"] and ev.data["from"] == "卫生计生"
    page = html(client.get(f"/hotline/tickets/{t.pk}/"))
    assert "分类由「卫生计生」（自动分类，置信度 0.41）改为「交通运输/城市交通」" in page
    assert page.count('id="history"') == 1 and "hx-swap-oob" not in page

    # a label outside the taxonomy: a clear inline error, nothing changed
    box = html(client.post(f"/hotline/tickets/{t.pk}/category/", {"category_l1": "火星事务"}, headers=HX))
    assert "一级分类「火星事务」不在分类体系中" in box and 'role="alert"' in box
    box = html(client.post(f"/hotline/tickets/{t.pk}/category/", {"category_l1": "民政", "category_l3": "低保"}, headers=HX))
    assert "先填写二级分类" in box
    t.refresh_from_db()
    assert t.category == "交通运输/城市交通"
    # a plain form post redirects back to the page (or shows the error with a way back)
    r = client.post(f"/hotline/tickets/{t.pk}/category/", {"category_l1": "民政"})
    assert r.status_code == 302 and r["Location"] == f"/hotline/tickets/{t.pk}/"
    r = client.post(f"/hotline/tickets/{t.pk}/category/", {"category_l1": ""})
    assert r.status_code == 400 and "请选择一级分类" in r.content.decode()

    far = ticket("K2", "2024-03", street["c2g1m1"])
    assert client.post(f"/hotline/tickets/{far.pk}/category/", {"category_l1": "民政"}, headers=HX).status_code == 404
    # section staff read tickets but may not update them (accounts.policy)
    client.force_login(people["section"])
    page = html(client.get(f"/hotline/tickets/{t.pk}/"))
    assert "您的角色不能更正工单分类" in page and 'name="category_l1"' not in page
    box = html(client.post(f"/hotline/tickets/{t.pk}/category/", {"category_l1": "交通运输"}, headers=HX))
    assert "无权更正" in box
    assert Ticket.objects.get(pk=t.pk).category_l1 == "民政"


def test_category_api(street, people, client, monkeypatch, tmp_path):
    t = ticket("A1", "2024-03", street["c1g1m1"], content="公交站牌被撞坏", category=("城乡建设", "", ""))
    far = ticket("A2", "2024-03", street["c2g1m1"])
    client.force_login(people["gw"])
    url = f"/api/hotline/tickets/{t.pk}/category"
    r = client.post(url, {"category_l1": "交通运输", "category_l2": "公交"}, content_type="application/json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["category_l1"], body["category_l2"], body["category_source"], body["category_confidence"]) == (
        "交通运输", "公交", "staff", None)
    assert services.staff_labelled_examples()[0] == [("公交站牌被撞坏", "交通运输")]

    r = client.post(url, {"category_l1": "火星事务"}, content_type="application/json")
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert "'火星事务' is not in the taxonomy" in detail and "交通运输" in detail and "城乡建设" in detail
    assert client.post(url, {"category_l2": "公交"}, content_type="application/json").status_code == 422  # l1 required
    r = client.post(f"/api/hotline/tickets/{far.pk}/category", {"category_l1": "民政"}, content_type="application/json")
    assert r.status_code == 404
    client.force_login(people["section"])
    assert client.post(url, {"category_l1": "民政"}, content_type="application/json").status_code == 403
    client.force_login(people["resident"])
    assert client.post(url, {"category_l1": "民政"}, content_type="application/json").status_code == 403
    assert Ticket.objects.get(pk=t.pk).category_l1 == "交通运输"

    # no taxonomy on the server (no file, no model): 503 says so
    from gridgov.hotline import classifier, paths

    monkeypatch.setattr(paths, "shared_data_dir", lambda: tmp_path / "nowhere")
    monkeypatch.setattr(classifier, "default_model_path", lambda: tmp_path / "no-model.joblib")
    client.force_login(people["leader"])
    r = client.post(url, {"category_l1": "民政"}, content_type="application/json")
    assert r.status_code == 503 and "no category taxonomy" in r.json()["detail"]


def _pending(street, tid, grid, candidates, **kw):
    t = ticket(tid, "2024-03", grid, **kw)
    Ticket.objects.filter(pk=t.pk).update(
        address_match="pending", address_text="幸福里", grid=grid, community=grid if grid and grid.level == 1 else None,
        address_candidates=[{"id": a.id, "text": a.text, "score": s, "grid_id": a.grid_id, "community_id": a.community_id}
                            for a, s in candidates],
        address_score=candidates[0][1] if candidates else None,
    )
    return Ticket.objects.get(pk=t.pk)


def test_address_queue_confirm_a_candidate_or_pick_a_grid(places, street, people, client):
    boss = people["leader"]
    services.import_records(boss, [
        {"ticket_id": "Q1", "received_at": "2024-03-01", "content": "楼道灯坏", "address": "幸福里"},
        {"ticket_id": "Q2", "received_at": "2024-03-02", "content": "路面塌陷", "address": "人民路100号"},
    ])
    q1, q2 = Ticket.objects.get(ticket_id="Q1"), Ticket.objects.get(ticket_id="Q2")
    assert q1.address_match == q2.address_match == "pending" and len(q1.address_candidates) == 2
    client.force_login(boss)
    page = html(client.get("/hotline/addresses/"))
    assert f'id="q-{q1.pk}"' in page and f'id="q-{q2.pk}"' in page
    assert f'"address_id": "{places["xf1"].id}"' in page and f'"address_id": "{places["xf2"].id}"' in page

    r = client.post(f"/hotline/tickets/{q1.pk}/address/", {"address_id": places["xf1"].id}, headers=HX)
    out = html(r)
    assert "<tr" not in out and 'hx-swap-oob' in out and "已确认地址" in out  # the row goes, the status says why
    q1.refresh_from_db()
    assert (q1.address_match, q1.matched_address, q1.grid, q1.community) == (
        "confirmed", places["xf1"], street["c1g2m1"], street["c1"])
    assert HotlineEvent.objects.get(ticket=q1).action == "address"
    page = html(client.get("/hotline/addresses/"))
    assert f'id="q-{q1.pk}"' not in page and f'id="q-{q2.pk}"' in page

    # an address that is not there: the row comes back with the error in it
    out = html(client.post(f"/hotline/tickets/{q2.pk}/address/", {"address_id": 999999}, headers=HX))
    assert out.startswith(f'<tr id="q-{q2.pk}"') and "该地址不存在" in out and 'role="alert"' in out
    # no candidate fits: pick a grid (the picker is loaded on demand)
    form = html(client.get(f"/hotline/tickets/{q2.pk}/grid/", headers=HX))
    assert f'value="{street["c2g1"].code}"' in form and 'name="csrfmiddlewaretoken"' in form
    out = html(client.post(f"/hotline/tickets/{q2.pk}/grid/", {"grid": ""}, headers=HX))
    assert "请选择您辖区内的社区或网格" in out
    out = html(client.post(f"/hotline/tickets/{q2.pk}/grid/", {"grid": street["c2g1"].code}, headers=HX))
    assert "<tr" not in out and "已归入第2社区第1网格" in out
    q2.refresh_from_db()
    assert (q2.address_match, q2.grid, q2.community, q2.matched_address) == ("confirmed", street["c2g1"], street["c2"], None)
    ev = HotlineEvent.objects.get(ticket=q2)
    assert ev.action == "grid" and ev.data["to"] == "第2社区第1网格"
    assert "没有待确认地址的工单" in html(client.get("/hotline/addresses/"))
    # a plain form post redirects to the queue
    q3 = _pending(street, "Q3", street["c1"], [(places["yg3"], 0.7)])
    r = client.post(f"/hotline/tickets/{q3.pk}/address/", {"address_id": places["yg3"].id})
    assert r.status_code == 302 and r["Location"] == "/hotline/addresses/"


def test_address_queue_in_scope(places, street, people, client):
    mine = _pending(street, "S1", street["c1"], [(places["xf1"], 0.7), (places["xf2"], 0.7)])
    theirs = _pending(street, "S2", street["c2"], [(places["xf2"], 0.7)])
    client.force_login(people["sec"])
    page = html(client.get("/hotline/addresses/"))
    assert f'id="q-{mine.pk}"' in page and f'id="q-{theirs.pk}"' not in page
    # the candidate in the other community is shown but cannot be confirmed here
    assert f'"address_id": "{places["xf1"].id}"' in page and f'"address_id": "{places["xf2"].id}"' not in page
    assert "不在您的辖区" in page
    out = html(client.post(f"/hotline/tickets/{mine.pk}/address/", {"address_id": places["xf2"].id}, headers=HX))
    assert "该地址不存在或不在您的辖区内" in out
    out = html(client.post(f"/hotline/tickets/{mine.pk}/grid/", {"grid": street["c2g1"].code}, headers=HX))
    assert "请选择您辖区内的社区或网格" in out
    assert client.post(f"/hotline/tickets/{theirs.pk}/grid/", {"grid": street["c1g1"].code}, headers=HX).status_code == 404
    assert Ticket.objects.get(pk=mine.pk).address_match == "pending"
    # section staff see the queue but may not resolve it
    client.force_login(people["section"])
    page = html(client.get("/hotline/addresses/"))
    assert f'id="q-{mine.pk}"' in page and "您的角色不能确认地址" in page
    out = html(client.post(f"/hotline/tickets/{mine.pk}/address/", {"address_id": places["xf1"].id}, headers=HX))
    assert "无权确认" in out


def test_topic_becomes_a_project(places, street, people, client):
    from gridgov.registry.models import Compound

    for i, text in enumerate(LEAK * 2):
        ticket(f"L{i}", "2024-06", street["c1g1m1"], content=text, address=places["yg3"], category=("城乡建设", "房屋修缮", ""))
    ticket("FAR", "2024-06", street["c2g1m1"], content=LEAK[0], category=("城乡建设", "房屋修缮", ""))
    yg = Compound.objects.get(name="阳光星苑")
    client.force_login(people["sec"])
    page = html(client.get("/hotline/topics/", {"month": "2024-06"}))
    assert "城乡建设/房屋修缮 · 6 张工单" in page and "阳光星苑 6 件" in page and LEAK[0] in page
    # the form starts from the topic's place: the compound's grid and the compound
    assert f'<option value="{street["c1g1m1"].code}" selected>' in page and f'<option value="{yg.pk}" selected>' in page
    assert client.get("/hotline/topics/", {"month": "2024-13"}).status_code == 400

    ids = list(Ticket.objects.filter(ticket_id__startswith="L").values_list("pk", flat=True))
    far = Ticket.objects.get(ticket_id="FAR").pk
    form = {"month": "2024-06", "cluster_key": "2024-06:城乡建设:L0", "category_l1": "城乡建设", "category_l2": "房屋修缮",
            "ticket_ids": [*ids, far], "title": "阳光星苑3号楼屋顶防水", "owner": "社区党委",
            "funding_source": "maintenance_fund", "budget": "120000", "grid": street["c1g1m1"].code, "compound": yg.pk}
    out = html(client.post("/hotline/projects/new/", {**form, "budget": "十二万"}, headers=HX))
    assert "预算请填写金额" in out and not ProactiveProject.objects.exists()
    out = html(client.post("/hotline/projects/new/", {**form, "grid": street["c2g1"].code}, headers=HX))
    assert "请选择您辖区内的社区或网格" in out and not ProactiveProject.objects.exists()
    r = client.post("/hotline/projects/new/", form, headers=HX)
    p = ProactiveProject.objects.get()
    assert r.status_code == 200 and r["HX-Redirect"] == f"/hotline/projects/{p.pk}/"
    assert (p.title, p.grid, p.compound, p.owner, p.funding_source, str(p.budget), p.category_l2, p.created_by) == (
        "阳光星苑3号楼屋顶防水", street["c1g1m1"], yg, "社区党委", "maintenance_fund", "120000.00", "房屋修缮", people["sec"])
    assert set(p.tickets.values_list("pk", flat=True)) == set(ids)  # the ticket outside the scope is not linked
    assert HotlineEvent.objects.get(project=p).data["tickets"] == 6
    r = client.post("/hotline/projects/new/", {**form, "title": "无刷新"})
    assert r.status_code == 302 and r["Location"].startswith("/hotline/projects/")


def test_project_list_and_page_milestones_progress_status(places, street, people, client):
    sec = people["sec"]
    for m, n in (("2024-01", 3), ("2024-02", 1)):
        for i in range(n):
            ticket(f"B{m}{i}", m, street["c1g1m1"], address=places["yg3"], category=("城乡建设", "房屋修缮", ""))
    p = services.create_project(sec, title="屋顶防水", grid=street["c1g1m1"], category_l1="城乡建设",
                                category_l2="房屋修缮", tickets=Ticket.objects.all())
    other = services.create_project(people["leader"], title="第2社区路灯", grid=street["c2g1"])
    client.force_login(sec)
    page = html(client.get("/hotline/projects/"))
    assert "屋顶防水" in page and "第2社区路灯" not in page
    assert client.get(f"/hotline/projects/{other.pk}/").status_code == 404
    assert "屋顶防水" not in html(client.get("/hotline/projects/", {"status": "completed"}))

    url = f"/hotline/projects/{p.pk}/"
    page = html(client.get(url))
    assert 'data-status="approved"' in page and 'data-status="completed"' not in page
    assert page.count('href="/hotline/tickets/') >= 4  # the linked tickets

    out = html(client.post(url + "milestones/", {"title": ""}, headers=HX))
    assert "请填写节点名称" in out
    r = client.post(url + "milestones/", {"title": "勘察", "due_on": "2024-04-10"}, headers=HX)
    assert r.status_code == 200 and r["HX-Refresh"] == "true"
    r = client.post(url + "milestones/", {"title": "施工", "due_on": "2024-05-20"}, headers=HX)
    m1, m2 = p.milestones.order_by("id")
    out = html(client.post(url + f"milestones/{m1.pk}/", {"progress": "120"}, headers=HX))
    assert "0 到 100" in out
    r = client.post(url + f"milestones/{m1.pk}/", {"progress": "100", "done_on": "2024-04-08"}, headers=HX)
    assert r["HX-Refresh"] == "true"
    m1.refresh_from_db()
    assert m1.progress == 100 and str(m1.done_on) == "2024-04-08"
    client.post(url + f"milestones/{m2.pk}/", {"progress": "40"}, headers=HX)
    assert ProactiveProject.objects.get(pk=p.pk).progress == 70

    out = html(client.post(url + "status/", {"status": "completed"}, headers=HX))
    assert "无法保存" in out and 'role="alert"' in out
    for status, on in (("approved", "2024-03-20"), ("in_progress", "2024-04-01"), ("completed", "2024-05-31")):
        r = client.post(url + "status/", {"status": status, "on": on}, headers=HX)
        assert r.status_code == 200 and r["HX-Refresh"] == "true", r.content
    p.refresh_from_db()
    assert (p.status, str(p.started_on), str(p.completed_on)) == ("completed", "2024-04-01", "2024-05-31")
    page = html(client.get(url))
    assert "状态不再变化" in page and "70%" in page
    assert "2023-10 <small>开始前</small></td><td>0" in page and "2024-01 <small>开始前</small></td><td>3" in page
    assert "开始前月均 0.7 件" in page  # (3 + 1) / 6
    assert "节点「勘察」进度 0% → 100%" in page and "状态「实施中」→「已完成」（2024-05-31）" in page
    r = client.post(url + "status/", {"status": "approved"})  # a plain post: back to the page, or the error
    assert r.status_code == 400 and "无法保存" in r.content.decode()
    client.force_login(make_user("w2", Role.GRID_WORKER, [street["c2g1"]]))
    assert client.post(url + "status/", {"status": "cancelled"}, headers=HX).status_code == 404
    assert client.post(url + "milestones/", {"title": "x"}, headers=HX).status_code == 404


def test_case_page_links_its_ticket(street, people, client):
    from gridgov.cases.taxonomy import seed_taxonomy

    seed_taxonomy()
    t = ticket("H1", "2024-03", street["c1g1m1"], content="小区门口的路灯坏了，晚上一片漆黑", category=("城乡建设", "市政设施", ""))
    case = services.open_case(t)
    client.force_login(people["sec"])
    page = html(client.get(f"/cases/{case.pk}/"))
    assert f'<a href="/hotline/tickets/{t.pk}/">H1</a> · 城乡建设/市政设施' in page


def test_nav_entry_for_the_roles_that_see_tickets(street, people, client):
    # the nav shows 12345 to staff roles but property staff (whose work is their company's 物业
    # cases): exactly the roles the policy lets list tickets
    assert {r for r in policy.ROLES if policy.POLICY[(r, "tickets", "list")] != policy.NEVER} == set(STAFF_ROLES) - {Role.PROPERTY_STAFF}
    client.force_login(make_user("pm", Role.PROPERTY_STAFF))
    assert ">12345</a>" not in html(client.get("/"))
    client.force_login(people["gw"])
    page = html(client.get("/hotline/projects/"))
    assert '<a href="/hotline/tickets/"' in page and ">12345</a>" in page
    for url in ("/hotline/tickets/", "/hotline/addresses/", "/hotline/topics/", "/hotline/projects/", "/hotline/report/"):
        assert f'href="{url}"' in page
    client.force_login(people["resident"])
    for url in ("/hotline/tickets/", "/hotline/addresses/", "/hotline/topics/", "/hotline/projects/"):
        assert client.get(url).status_code == 403
    client.logout()
    assert client.get("/hotline/tickets/").status_code == 302  # to the login page


def test_hotline_case_without_a_visible_ticket_shows_no_link(street, people, client):
    from gridgov.cases.taxonomy import seed_taxonomy

    seed_taxonomy()
    t = ticket("H2", "2024-03", street["c1g1m1"], content="小区门口的路灯坏了")
    case = services.open_case(t)
    client.force_login(people["sec"])
    assert "12345 工单</dt>" in html(client.get(f"/cases/{case.pk}/"))
    # the ticket was placed in the other community since; its case stayed in c1
    Ticket.objects.filter(pk=t.pk).update(grid=street["c2g1m1"], community=street["c2"])
    assert "12345 工单</dt>" not in html(client.get(f"/cases/{case.pk}/"))


def test_category_labels_come_from_the_taxonomy_file_else_the_trained_model(monkeypatch, tmp_path, hotline_data):
    from types import SimpleNamespace

    from gridgov.hotline import classifier, paths
    from gridgov.hotline.taxonomy import Label, Taxonomy

    assert services.category_labels()[:3] == ["城乡建设", "党务政务", "国土资源"]  # the shared taxonomy.xlsx
    assert "城市建设和市政管理" in services.category_level2_names()
    model = tmp_path / "model.joblib"
    model.write_bytes(b"stand-in")
    (tmp_path / "data" / "hotline").mkdir(parents=True)
    (tmp_path / "data" / "hotline" / "taxonomy.xlsx").write_bytes(b"not a workbook")  # broken: the next source
    monkeypatch.setattr(paths, "shared_data_dir", lambda: tmp_path / "data")
    monkeypatch.setattr(classifier, "default_model_path", lambda: model)
    monkeypatch.setattr(classifier, "get_classifier", lambda path=None: SimpleNamespace(
        taxonomy=Taxonomy([Label("物业", children=["电梯：停运"]), Label("交通")])))
    assert services.category_labels() == ["物业", "交通"] and services.category_level2_names() == ["电梯"]
    model.unlink()
    assert services.category_labels() == []


def test_bad_ids_in_forms_are_refused_inline(places, street, people, client):
    q = _pending(street, "Z1", street["c1"], [(places["yg3"], 0.7)])
    client.force_login(people["leader"])
    for raw in ("9" * 30, "１２", "-1", "abc"):
        out = html(client.post(f"/hotline/tickets/{q.pk}/address/", {"address_id": raw}, headers=HX))
        assert "该地址不存在" in out
    p = services.create_project(people["leader"], title="x", grid=street["c1g1"])
    out = html(client.post(f"/hotline/projects/{p.pk}/milestones/", {"title": "y", "due_on": "2024-13-01"}, headers=HX))
    assert "不是有效日期" in out
    r = client.post("/hotline/projects/new/", {"title": "z", "grid": street["c1g1"].code, "ticket_ids": ["9" * 30, "x"],
                                               "compound": "9" * 30}, headers=HX)
    assert "所选小区不存在" in html(r)
    r = client.post("/hotline/projects/new/", {"title": "z", "grid": street["c1g1"].code, "ticket_ids": ["9" * 30, str(q.pk)]},
                    headers=HX)
    assert r["HX-Redirect"] and list(ProactiveProject.objects.get(title="z").tickets.all()) == [q]
