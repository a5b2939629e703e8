"""Pages of party life: on the phone (/m/volunteer/party/) a member's 双报到, 亮身份, the
vanguard posts of their community and their 实事 of the year; for staff (/volunteers/party/)
the 双报到 roll (and its xlsx), the vanguard posts, the 实事 table, and a branch's page for its
secretary. Views validate and call gridgov.volunteers.party."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts import policy

from . import party
from .models import PartyRegistration, ServiceRecord

m_login_required = login_required(login_url="/m/login/")


def _year(request) -> int:
    try:
        y = int(request.GET.get("year") or 0)
    except ValueError:
        y = 0
    return y if 2000 <= y <= 2100 else timezone.localdate().year


def _orgs():
    from gridgov.registry.models import PartyOrganization

    return PartyOrganization.objects.filter(ended_on__isnull=True).order_by("name")


# --- the phone --------------------------------------------------------------------------------


def _m_context(user, **extra):
    regs = list(party.my_registrations(user))
    active = [r for r in regs if r.state == PartyRegistration.State.ACTIVE]
    posts = list(party.posts_for_member(user)[:100]) if active else []
    # near me first: the posts on (or above) my home grid
    mine = [r.grid.path for r in active if r.grid_id]
    posts.sort(key=lambda p: (not any(m.startswith(p.node.path) or p.node.path.startswith(m) for m in mine), p.node.path))
    duties = party.holders(posts)
    for p in posts:
        p.holders = duties.get(p.pk, [])
        p.mine = any(d.user_id == user.pk for d in p.holders)
    home, _grid, _res = party.home_of(user)
    ctx = {"tab": "volunteer", "registrations": regs, "active": active, "posts": posts,
           "deeds": party.my_deeds(user), "home": home, "communities": list(party.communities()),
           "orgs": list(_orgs()), "badge": party.shows_party_identity(user),
           "led": list(party.branches_led(user))}
    ctx.update(extra)
    return ctx


@m_login_required
def m_home(request):
    return render(request, "volunteers/m_party_home.html", _m_context(request.user))


def _m_error(request, exc):
    return render(request, "volunteers/m_party_home.html", _m_context(request.user, error=exc.message), status=exc.status)


@m_login_required
def m_register(request):
    """双报到 form (a member; a unit's contact below it)."""
    if request.method == "POST":
        p = request.POST
        try:
            if p.get("kind") == "unit":
                party.register_unit(request.user, community=p.get("community"), name=p.get("name", ""),
                                    unit_name=p.get("unit_name", ""), party_org=p.get("party_org") or None,
                                    skills=p.get("skills", ""))
                notice = _("单位党组织已报到")
            else:
                reg = party.register_member(request.user, community=p.get("community") or None,
                                            unit_name=p.get("unit_name", ""), party_org=p.get("party_org") or None,
                                            skills=p.get("skills", ""), show_identity=p.get("show_identity") == "on",
                                            name=p.get("name", ""))
                notice = _("已到%(community)s报到") % {"community": reg.community.name}
        except party.PartyError as exc:
            ctx = _m_context(request.user, error=exc.message, form=p)
            return render(request, "volunteers/m_party_register.html", ctx, status=exc.status)
        return render(request, "volunteers/m_party_home.html", _m_context(request.user, notice=notice), status=201)
    return render(request, "volunteers/m_party_register.html", _m_context(request.user))


@m_login_required
@require_POST
def m_identity(request, reg_id):
    try:
        reg = party.update_registration(request.user, reg_id, show_identity=request.POST.get("show_identity") == "on")
    except party.PartyError as exc:
        return _m_error(request, exc)
    notice = _("已亮明党员身份") if reg.show_identity else _("已取消亮身份")
    return render(request, "volunteers/m_party_home.html", _m_context(request.user, notice=notice))


@m_login_required
@require_POST
def m_end(request, reg_id):
    try:
        party.end_registration(request.user, reg_id, reason=request.POST.get("reason", "")[:200])
    except party.PartyError as exc:
        return _m_error(request, exc)
    return render(request, "volunteers/m_party_home.html", _m_context(request.user, notice=_("报到已注销")))


@m_login_required
@require_POST
def m_take(request, post_id):
    try:
        party.take_post(request.user, post_id)
    except party.PartyError as exc:
        return _m_error(request, exc)
    return render(request, "volunteers/m_party_home.html", _m_context(request.user, notice=_("已认领先锋岗")))


@m_login_required
@require_POST
def m_leave(request, post_id):
    try:
        party.leave_post(request.user, post_id)
    except party.PartyError as exc:
        return _m_error(request, exc)
    return render(request, "volunteers/m_party_home.html", _m_context(request.user, notice=_("已离开先锋岗")))


@m_login_required
def m_deeds(request):
    """My 实事 of the year, against the expected."""
    return render(request, "volunteers/m_party_deeds.html",
                  {"tab": "volunteer", "deeds": party.my_deeds(request.user, _year(request)),
                   "badge": party.shows_party_identity(request.user)})


# --- staff ------------------------------------------------------------------------------------


def _require_list(user):
    if not policy.allows(user, "party", "list"):
        raise PermissionDenied(_("该页面仅限工作人员"))


def _scope_communities(user):
    return [c for c in party.communities() if policy.allows(user, "party", "list", c.path)
            or any(p.startswith(c.path) for p in _scope_paths(user))]


def _scope_paths(user):
    from gridgov.accounts.scope import scope_of

    return scope_of(user).paths


def _roll_context(request, **extra):
    user = request.user
    g = request.GET
    kind = g.get("kind", "") if g.get("kind", "") in PartyRegistration.Kind.values else ""
    state = g.get("state", "active") if g.get("state", "active") in ("", *PartyRegistration.State.values) else "active"
    community = g.get("community", "")
    year = _year(request)
    qs = party.roll(user, community=community or None, kind=kind, state=state)
    ids = party.party_identity_ids([r.user_id for r in qs[:300] if r.kind == "member"])
    ctx = {"counts": party.roll_counts(user, year), "rows": list(qs[:300]), "total": qs.count(), "year": year,
           "kind": kind, "state": state, "community": community, "communities": _scope_communities(user),
           "kinds": PartyRegistration.Kind.choices, "states": PartyRegistration.State.choices,
           "may_update": policy.allows(user, "party", "update"), "orgs": list(_orgs()), "badges": ids,
           "query": request.GET.urlencode(), "section": "roll"}
    ctx.update(extra)
    return ctx


@login_required
def roll(request):
    """The 双报到 roll: members and units by community, with counts; units registered here."""
    _require_list(request.user)
    try:
        ctx = _roll_context(request)
    except party.PartyError as exc:
        raise PermissionDenied(exc.message) from None
    return render(request, "volunteers/party_roll.html", ctx)


@login_required
@require_POST
def roll_unit(request):
    _require_list(request.user)
    p = request.POST
    try:
        community = party.as_community(p.get("community"))
        if not policy.allows(request.user, "party", "update", community.path):
            raise party.NotAllowed(_("只能登记本社区的单位"))
        reg = party.register_unit(request.user, community=community, name=p.get("name", ""),
                                  unit_name=p.get("unit_name", ""), party_org=p.get("party_org") or None,
                                  skills=p.get("skills", ""))
    except party.PartyError as exc:
        return render(request, "volunteers/party_roll.html", _roll_context(request, error=exc.message), status=exc.status)
    return render(request, "volunteers/party_roll.html",
                  _roll_context(request, notice=_("%(unit)s已登记报到") % {"unit": reg.unit_name}), status=201)


@login_required
@require_POST
def roll_end(request, reg_id):
    _require_list(request.user)
    try:
        party.end_registration(request.user, reg_id, reason=request.POST.get("reason", "")[:200])
    except party.PartyError as exc:
        return render(request, "volunteers/party_roll.html", _roll_context(request, error=exc.message), status=exc.status)
    return render(request, "volunteers/party_roll.html", _roll_context(request, notice=_("报到已注销")))


@login_required
def roll_xlsx(request):
    """The roll as a spreadsheet (the rows the filters select)."""
    _require_list(request.user)
    from gridgov.core.tabular import Workbook

    g = request.GET
    qs = party.roll(request.user, community=g.get("community") or None, kind=g.get("kind", ""),
                    state=g.get("state", "active"))
    wb = Workbook(write_only=True)
    ws = wb.sheet("双报到")
    ws.append(["类型", "姓名/党组织", "工作单位", "所属党组织", "报到社区", "网格", "亮身份", "服务意向", "状态", "报到时间",
               "注销时间"], bold=True)
    for r in qs.iterator(chunk_size=1000):
        ws.append([r.get_kind_display(), r.name, r.unit_name, r.party_org.name if r.party_org_id else "", r.community.name,
                   r.grid.name if r.grid_id else "", "是" if r.show_identity else "否", r.skills, r.get_state_display(),
                   timezone.localtime(r.registered_at).strftime("%Y-%m-%d %H:%M"),
                   timezone.localtime(r.ended_at).strftime("%Y-%m-%d %H:%M") if r.ended_at else ""])
    resp = HttpResponse(wb.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = "attachment; filename=\"party-roll.xlsx\""
    return resp


def _posts_context(request, **extra):
    user = request.user
    posts = list(party.posts_in_scope(user)[:300])
    duties = party.holders(posts)
    from gridgov.geo.models import GridNode

    may_update = policy.allows(user, "party", "update")
    members_by_c: dict = {}
    if may_update:
        for r in party.roll(user, kind=PartyRegistration.Kind.MEMBER).filter(user__isnull=False)[:2000]:
            members_by_c.setdefault(r.community.path, []).append(r)
    for p in posts:
        p.holders = duties.get(p.pk, [])
        p.may_update = may_update and policy.allows(user, "party", "update", p.node.path)
        p.candidates = next((v for k, v in members_by_c.items() if p.node.path.startswith(k)), []) if p.may_update else []
    grids = []
    if may_update:
        scope = _scope_paths(user)
        from gridgov.accounts.scope import scope_of

        everything = scope_of(user).everything or policy.reach(user, "party", "update") == policy.ALL
        grids = [n for n in GridNode.objects.filter(level__in=(1, 2, 3)).order_by("path")
                 if everything or any(n.path.startswith(s) for s in scope)][:500]
    ctx = {"posts": posts, "may_update": may_update, "grids": grids, "orgs": list(_orgs()), "section": "posts"}
    ctx.update(extra)
    return ctx


@login_required
def posts(request):
    """The vanguard posts of the grids in scope, their holders; staff create, assign, close."""
    _require_list(request.user)
    return render(request, "volunteers/party_posts.html", _posts_context(request))


@login_required
@require_POST
def post_act(request, post_id=None, act="create"):
    _require_list(request.user)
    p = request.POST
    try:
        if act == "create":
            post = party.create_post(request.user, name=p.get("name", ""), node=p.get("grid", ""),
                                     description=p.get("description", ""), party_org=p.get("party_org") or None)
            notice, status = _("先锋岗“%(name)s”已设立") % {"name": post.name}, 201
        elif act == "assign":
            party.assign_post(request.user, post_id, p.get("user_id") or 0)
            notice, status = _("已安排上岗"), 200
        elif act == "release":
            party.leave_post(request.user, post_id, member=int(p.get("user_id") or 0))
            notice, status = _("已离岗"), 200
        else:
            party.close_post(request.user, post_id)
            notice, status = _("先锋岗已撤销"), 200
    except (party.PartyError, ValueError) as exc:
        message = exc.message if isinstance(exc, party.PartyError) else _("请求有误")
        return render(request, "volunteers/party_posts.html", _posts_context(request, error=message),
                      status=getattr(exc, "status", 400))
    return render(request, "volunteers/party_posts.html", _posts_context(request, notice=notice), status=status)


@login_required
def deeds(request):
    """The 实事 of the year: per community, per branch, per member (who has met the expected)."""
    _require_list(request.user)
    year = _year(request)
    community = request.GET.get("community", "")
    try:
        table = party.deeds_table(request.user, year, community=community or None)
    except party.PartyError as exc:
        raise PermissionDenied(exc.message) from None
    only = request.GET.get("only", "")
    members = [m for m in table.members if (only != "unmet" or not m["met"])]
    return render(request, "volunteers/party_deeds.html",
                  {"table": table, "members": members[:1000], "year": year, "community": community, "only": only,
                   "communities": _scope_communities(request.user), "years": range(timezone.localdate().year, 2019, -1),
                   "section": "deeds"})


@login_required
def branches(request):
    """The branches a secretary leads (or, for staff, every branch with registered members)."""
    led = list(party.branches_led(request.user))
    if len(led) == 1 and not policy.allows(request.user, "party", "list"):
        return redirect(f"/volunteers/party/branches/{led[0].pk}/")
    if not led and not policy.allows(request.user, "party", "list"):
        raise PermissionDenied(_("只有党支部书记或工作人员可以查看"))
    year = _year(request)
    table = None
    if policy.allows(request.user, "party", "list"):
        table = party.deeds_table(request.user, year, include_unregistered=False)
    return render(request, "volunteers/party_branches.html",
                  {"led": led, "table": table, "year": year, "section": "branches"})


@login_required
def branch(request, org_id):
    """One branch: its registered members' 实事 of the year and their latest service (its
    secretary, or staff whose scope holds the branch's grid)."""
    from gridgov.registry.models import PartyOrganization

    org = get_object_or_404(PartyOrganization.objects.select_related("grid"), pk=org_id)
    year = _year(request)
    try:
        table = party.branch_deeds(request.user, org, year)
    except party.PartyError as exc:
        raise PermissionDenied(exc.message) from None
    return render(request, "volunteers/party_branch.html",
                  {"org": org, "table": table, "year": year, "service": list(party.branch_service(org, year)),
                   "sources": dict(ServiceRecord.Source.choices), "section": "branches",
                   "badges": party.party_identity_ids([m["user_id"] for m in table.members])})
