"""Who gets a case: the rule table, the path it picks, and the concrete person at each level.

A rule matches on (item | scenario | any) × urgency × grid level × local time window; empty
fields match anything. The most specific match wins (`specificity`); its path is an ordered
list of steps over handler levels. `resolve_handler` turns a level into a person:

* grid_leader — a duty (GridAssignment) in force today: leader on the case's grid, else on its
  nearest ancestor (every level below reads only the duties in force);
* community_secretary — duty=secretary on the case's community (level 1), else nearest ancestor;
* section — the department of the item; the case waits in that department's queue and its
  first active section-staff member (role section_staff, User.department) is the named handler.
  An item whose department is 物业 (`PROPERTY`) goes to the property company serving the
  compound the case lies in (Case.compound; registry.property.company_department_at): its
  Department's queue, its first active property-staff member named; a case outside every
  served compound skips the level;
* leader_in_charge — a user with role leader whose `department` is the item's department
  (the leader in charge of that section), else any leader;
* principal_leader — a leader assigned duty=secretary on the street node, else any leader.

A level with nobody to take it is skipped to the next step, and the reason says so.

A path always ends at someone (`fallback_handler`): when no level of the rest of the path is
filled, the case goes to its community (the secretary, else the staff assigned to the
community the case lies in), then to the duty leader of the top of its grid path (a leader
assigned there, else a user whom the access table lets manage cases everywhere); each only when
the access table lets them manage cases of the place, and escalation only ever moves up the
ladder (`RUNGS`) to someone else."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from gridgov.geo import levels as gl
from gridgov.accounts import policy
from gridgov.accounts.departments import PROPERTY_PLACEHOLDER
from gridgov.accounts.models import Duty, GridAssignment, Role, User
from gridgov.geo.models import GridNode

from .models import HandlerLevel, RoutingPath, RoutingRule, RoutingRuleHistory

#: the department an item names when the property company of the case's compound handles it
PROPERTY = PROPERTY_PLACEHOLDER


# --- editing the table, with history ----------------------------------------------------------


def _history(rule_id, action, data, user):
    RoutingRuleHistory.objects.create(
        rule_id=rule_id, action=action, data=data, user=user if getattr(user, "pk", None) else None, at=timezone.now()
    )


def may_edit_rules(user) -> bool:
    """Create, change or delete routing rules: the policy table's routing × update."""
    return policy.allows(user, "routing", "update")


def _require_editor(user):
    """`user` None: the system (seeding the defaults)."""
    if user is not None and not may_edit_rules(user):
        raise PermissionDenied("only administrators and leaders edit the routing table")


@transaction.atomic
def save_rule(rule: RoutingRule, user=None) -> RoutingRule:
    _require_editor(user)
    if rule.start_time is None and rule.end_time is not None or rule.start_time is not None and rule.end_time is None:
        raise ValueError("a time window needs both start_time and end_time")
    if rule.item_id and rule.scenario_id:
        raise ValueError("a rule names an item or a scenario, not both")
    action = "update" if rule.pk else "create"
    rule.save()
    _history(rule.pk, action, rule.as_dict(), user)
    return rule


@transaction.atomic
def delete_rule(rule: RoutingRule, user=None):
    _require_editor(user)
    data = rule.as_dict()
    rid = rule.pk
    rule.delete()
    _history(rid, "delete", data, user)


@transaction.atomic
def save_path(path: RoutingPath, user, name: str | None = None, steps: list | None = None) -> RoutingPath:
    """Rename a path or change its steps (routing × update); history (core.history, kind
    "routing", object "path:<code>"). Each step is a non-empty list of handler levels (not the
    volunteer: volunteers only grab)."""
    from gridgov.core import history

    _require_editor(user)
    if user is None:
        raise PermissionDenied("a person edits paths")
    path = RoutingPath.objects.select_for_update().get(pk=path.pk)
    before = {"name": path.name, "steps": path.steps}
    if name is not None:
        name = name.strip()
        if not name:
            raise ValueError("name: required")
        path.name = name
    if steps is not None:
        levels = set(HandlerLevel.values) - {HandlerLevel.VOLUNTEER.value}
        if not steps or any(not step for step in steps):
            raise ValueError("steps: at least one step, each naming at least one handler level")
        for step in steps:
            for level in step:
                if level not in levels:
                    raise ValueError(f"steps: {level!r} is not a handler level ({', '.join(sorted(levels))})")
            if len(set(step)) != len(step):
                raise ValueError("steps: a level twice in one step")
        path.steps = [list(step) for step in steps]
    changes = history.diff(before, {"name": path.name, "steps": path.steps})
    if changes:
        path.save()
        history.record(user, "routing", path, "update", changes, object_id=f"path:{path.code}")
    return path


def path_history(path: RoutingPath):
    from gridgov.core import history

    return history.for_object("routing", f"path:{path.code}")


# --- choosing a rule --------------------------------------------------------------------------


def _in_window(rule, local_time) -> bool:
    if rule.start_time is None:
        return True
    if rule.start_time <= rule.end_time:
        return rule.start_time <= local_time < rule.end_time
    return local_time >= rule.start_time or local_time < rule.end_time  # wraps midnight


def specificity(rule) -> tuple:
    return (
        2 if rule.item_id else 1 if rule.scenario_id else 0,
        bool(rule.urgency),
        rule.grid_level is not None,
        rule.start_time is not None,
        -rule.priority,
        -rule.pk,
    )


def choose_rule(item, urgency: str, grid_level: int | None, at) -> RoutingRule | None:
    local = timezone.localtime(at).time()
    candidates = [
        r
        for r in RoutingRule.objects.filter(active=True).select_related("path", "item", "scenario")
        if (r.item_id is None or (item and r.item_id == item.pk))
        and (r.scenario_id is None or (item and r.scenario_id == item.scenario_id))
        and (not r.urgency or r.urgency == urgency)
        and (r.grid_level is None or r.grid_level == grid_level)
        and _in_window(r, local)
    ]
    return max(candidates, key=specificity) if candidates else None


def default_path() -> RoutingPath | None:
    return RoutingPath.objects.filter(code="grid_community").first() or RoutingPath.objects.order_by("id").first()


# --- resolving a level to a person ------------------------------------------------------------


def _chain(grid: GridNode | None) -> list[GridNode]:
    """The grid and its ancestors, finest first."""
    if grid is None:
        return []
    return [grid, *reversed(grid.ancestors())]


def _assigned(nodes, duty, exclude=None):
    for node in nodes:
        qs = GridAssignment.objects.in_force().filter(node=node, duty=duty, user__is_active=True)
        if exclude is not None:
            qs = qs.exclude(user=exclude)
        a = (
            qs
            .select_related("user")
            .order_by("id")
            .first()
        )
        if a:
            return a.user, node
    return None, None


def _street_leaders(grid: GridNode | None):
    """The active leaders of the street `grid` lies in: every leader on a one-street install; under
    a district, those with a duty on that street (else on the district itself)."""
    leaders = User.objects.filter(role=Role.LEADER, is_active=True).order_by("id")
    if grid is None or not gl.multi_street():
        return leaders
    street = gl.street_path(grid.path)
    here = GridAssignment.objects.in_force().filter(node__path=street).values("user")
    if leaders.filter(pk__in=here).exists():
        return leaders.filter(pk__in=here)
    above = GridAssignment.objects.in_force().filter(node__level__lt=gl.street_level()).values("user")
    return leaders.filter(pk__in=above)


def resolve_handler(level: str, grid: GridNode | None, item, exclude=None, compound=None) -> dict:
    """{'level', 'user', 'department', 'via'}; user None when nobody fills the level. `exclude`:
    a person who may not fill a grid leader's or community secretary's level (one leaving);
    `compound`: the case's compound (a 物业 item goes to the company serving it)."""
    department = item.department if item else ""
    chain = _chain(grid)
    if level == HandlerLevel.GRID_LEADER:
        user, node = _assigned(chain, Duty.LEADER, exclude)
        via = f"网格长：{node.name}（{node.code}）" if user else "该网格及上级均未指定网格长"
        return {"level": level, "user": user, "department": "", "via": via}
    if level == HandlerLevel.COMMUNITY_SECRETARY:
        community = [n for n in chain if gl.street_level() <= n.level <= gl.community_level()]
        user, node = _assigned(community, Duty.SECRETARY, exclude)
        via = f"社区书记：{node.name}（{node.code}）" if user else "所在社区未指定书记"
        return {"level": level, "user": user, "department": "", "via": via}
    if level == HandlerLevel.SECTION:
        if not department:
            return {"level": level, "user": None, "department": "", "via": "事项未确定，无法确定科室"}
        if department == PROPERTY:
            from gridgov.registry.property import company_department_at

            company = company_department_at(compound)
            if not company:
                why = "事件不在有物业服务的小区内" if compound is None else f"{compound.name}无物业服务"
                return {"level": level, "user": None, "department": "", "via": why}
            user = User.objects.filter(role=Role.PROPERTY_STAFF, department=company, is_active=True).order_by("id").first()
            return {"level": level, "user": user, "department": company, "via": f"物业事项：{compound.name}的物业 {company}"}
        user = User.objects.filter(role=Role.SECTION_STAFF, department=department, is_active=True).order_by("id").first()
        return {"level": level, "user": user, "department": department, "via": f"事项责任科室：{department}"}
    if level == HandlerLevel.LEADER_IN_CHARGE:
        leaders = _street_leaders(grid)
        user = leaders.filter(department=department).first() if department else None
        via = f"分管{department}的领导" if user else "未找到分管领导，交任一街道领导"
        user = user or leaders.first()
        return {"level": level, "user": user, "department": "", "via": via if user else "未配置街道领导"}
    if level == HandlerLevel.PRINCIPAL_LEADER:
        a = (
            GridAssignment.objects.in_force()
            .filter(node__level=gl.street_level(), duty=Duty.SECRETARY, user__role=Role.LEADER, user__is_active=True,
                    **({"node__path": gl.street_path(grid.path)} if grid is not None and gl.multi_street() else {}))
            .select_related("user")
            .order_by("id")
            .first()
        )
        user = a.user if a else _street_leaders(grid).first()
        via = "街道主要领导（街道书记）" if a else ("未指定主要领导，交任一街道领导" if user else "未配置街道领导")
        return {"level": level, "user": user, "department": "", "via": via}
    raise ValueError(f"unknown handler level {level!r}")


def handler_for_step(path: RoutingPath, step: int, grid, item, compound=None) -> tuple[int, dict, list[dict]]:
    """Resolve `path` from `step` on: the first step whose level has a person (or, for a
    section, a department). Returns (step, handler, informed) and records skipped levels."""
    skipped = []
    for s in range(step, len(path.steps)):
        levels = path.steps[s]
        h = resolve_handler(levels[0], grid, item, compound=compound)
        if h["user"] or h["department"]:
            informed = [resolve_handler(lv, grid, item, compound=compound) for lv in levels[1:]]
            h["skipped"] = skipped
            return s, h, informed
        skipped.append({"level": levels[0], "why": h["via"]})
    return -1, {"level": "", "user": None, "department": "", "via": "路径上无人可办", "skipped": skipped}, []


# --- the end of a path: the community, then the duty leader of the top -------------------------

#: the rungs of the ladder, low to high: escalation past the end of a path only moves up
RUNGS = (HandlerLevel.GRID_LEADER, HandlerLevel.COMMUNITY_SECRETARY, HandlerLevel.SECTION,
         HandlerLevel.LEADER_IN_CHARGE, HandlerLevel.PRINCIPAL_LEADER)
#: the order in which the people assigned to a community or to the top node are asked
_DUTY_ORDER = (Duty.SECRETARY, Duty.STAFF, Duty.LEADER)


def rung(level: str) -> int:
    return RUNGS.index(level) if level in RUNGS else -1


def _may_manage_at(user, path: str) -> bool:
    return policy.allows(user, "cases", "update", path)


def _assigned_managers(node, path: str) -> list[tuple[User, str]]:
    """(user, duty) of the active people assigned to `node` whom the access table lets manage
    cases on `path`, by duty (secretary, staff, leader, then the others) and id."""
    if node is None:
        return []
    rows = GridAssignment.objects.in_force().filter(node=node, user__is_active=True).select_related("user").order_by("id")
    order = {d: i for i, d in enumerate(_DUTY_ORDER)}
    rows = sorted(rows, key=lambda a: (order.get(a.duty, len(order)), a.pk))
    seen, out = set(), []
    for a in rows:
        if a.user_id not in seen and _may_manage_at(a.user, path):
            seen.add(a.user_id)
            out.append((a.user, a.duty))
    return out


def _top(grid: GridNode | None) -> GridNode | None:
    """The top of the grid path of `grid` (the root of its tree, whatever its level), or the
    first root when there is no grid."""
    if grid is not None:
        chain = _chain(grid)  # the grid up to the root
        return next((n for n in chain if n.level == gl.street_level()), chain[-1])
    return GridNode.objects.filter(parent__isnull=True).order_by("code").first()


def community_of(grid: GridNode | None) -> GridNode | None:
    """The community (level 1) the grid lies in, or None (a case placed on the top itself)."""
    return next((n for n in _chain(grid) if n.level == gl.community_level()), None)


def duty_leaders(grid: GridNode | None) -> list[User]:
    """Who answers for the top of `grid`'s path: the people assigned to the top node whom the
    access table lets manage cases there, else every active user it lets manage cases
    everywhere (by role, in the table's order, then id). Told of every stuck case."""
    top = _top(grid)
    path = grid.path if grid is not None else (top.path if top is not None else "")
    people = [u for u, _duty in _assigned_managers(top, path)]
    if people:
        return people
    roles = [r for r in policy.ROLES if policy.POLICY.get((r, "cases", "update")) == policy.ALL]
    users = User.objects.filter(role__in=roles, is_active=True).order_by("id")
    if gl.multi_street():  # under a district: those whose streets hold the grid (or the district's)
        users = [u for u in users if _may_manage_at(u, path)]
    return sorted(users, key=lambda u: roles.index(u.role))


def fallback_handler(grid: GridNode | None, above: str = "", exclude=None) -> dict | None:
    """The handler when no level of the rest of a path is filled: the community the case lies
    in (its secretary, else its staff), then the duty leader of the top of its grid path —
    the first of them on a rung above `above` (the level of the handler the case leaves when it
    escalates; '' for a first assignment) who is not `exclude`. None: nobody above (the case is
    at the top: the breach is kept and the duty leaders are told)."""
    path = grid.path if grid is not None else ""
    floor = rung(above) if above else -1
    exclude_pk = getattr(exclude, "pk", None)
    if rung(HandlerLevel.COMMUNITY_SECRETARY) > floor:
        community = community_of(grid)
        for user, duty in _assigned_managers(community, path):
            if user.pk != exclude_pk:
                who = "社区书记" if duty == Duty.SECRETARY else "社区工作人员"
                return {"level": HandlerLevel.COMMUNITY_SECRETARY, "user": user, "department": "", "fallback": True,
                        "via": f"路径已无人可办，交由所在社区：{who}（{community.name}）"}
    if rung(HandlerLevel.PRINCIPAL_LEADER) > floor:
        top = _top(grid)
        for user in duty_leaders(grid):
            if user.pk != exclude_pk:
                return {"level": HandlerLevel.PRINCIPAL_LEADER, "user": user, "department": "", "fallback": True,
                        "via": f"路径已无人可办，交由值班领导（{top.name if top else '—'}）"}
    return None
