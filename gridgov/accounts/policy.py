"""Who may do what: ONE table, role × kind of record × action → never / own scope / everywhere.

This table is the access policy. The code reads it:

* `ScopedQuerySet.visible_to(user)` (accounts.querysets) asks `reach(user, kind, "read")` for every model
  that names its `policy_kind`; "own" means the grid subtrees the user is assigned to
  (accounts.scope), "all" the whole street, "never" nothing;
* `may_see_personal_data` (accounts.scope), and therefore `registry.services.reveal` and the
  exporters, ask `allows(user, kind, "personal", grid_path)`;
* the API and the pages ask `require(user, kind, action)` before a list, an export, an import
  (create / update) or a state change;
* the case services ask `allows(user, "cases", "update", path)` for managing acts;
* the map's grid editor (geo.services.draw_child / redraw) asks `require(user, "grids",
  "create" | "update", parent's path)`: a grid's polygon is its parent's business (it tiles the
  parent with its siblings), so an own-scope grant would cover drawing below the assigned grids,
  never the assigned grid's own boundary. Community staff keep "never": redrawing a community
  moves territory (and the routing of reports) between communities, a street decision.

The matrix test (accounts/tests/test_access_matrix.py) walks every cell through the API and the
pages over two communities and asserts exactly this outcome; docs/security.md explains it.

Actions of the records: list, read, create, update, export, personal (read decrypted ID numbers
and phones; for cases: the reporter's identity). Cases also have (services.may_act and the pages'
buttons ask them through cases.services.may_handle / may_verify / may_manage / may_moderate):

* handle   — accept, arrive, resolve, return a case of the grid (besides the relations below);
* verify   — verify a resolved case or send it back for rework (never the person who resolved it);
* moderate — release or reject a report held by the sensitive-word filter, and list held reports
  (/api/cases/held);
* update   — managing acts: dispatch, reroute, merge, reject, close, escalate, summon.

Kinds that are not records (no grid of their own; "own" means "open to a user with a scope", the
data shown stays scoped by `visible_to`):

* routing  — list: the routing rule table, paths and history (/api/cases/routing/...); update:
  create, change, delete rules;
* words    — list / update: the sensitive-word list (/api/cases/words);
* settings — list: the policy settings, their values in force and history, the working calendar's
  local overrides (/settings/, /calendar/, GET /api/settings, GET /api/cases/calendar/days); update:
  set a setting from a time (PUT /api/settings, PUT /api/hotline/settings), add or remove a
  calendar override;
* taxonomy — list: scenarios and items with their limits and history (/taxonomy/,
  GET /api/cases/taxonomy/items); update: create, change, deactivate them;
* insight  — read: the map layers, cards, search and dashboard figures (/api/insight/...).
* duties   — list / read: the duties (grid leader, grid worker, ...) of the grids in scope, and
  their history (/api/accounts/duties, /duties/); create / update: assign a duty on a grid in
  scope, end one (accounts.duties.assign_duty / end_duty). "own" is the grid subtrees the user
  serves, like a record's grid: a community secretary manages the duties of their community.
* exports  — read: every user's export jobs and files (/exports/<job>/); a user always sees the
  jobs they asked for (a relation).
* apikeys  — list / create / update: the Open311 API keys on /apikeys/ (create shows the key
  once; update: revoke, set the key's rate).
* staff    — list / read / create / update: the staff accounts (/staff/, /api/accounts/users):
  create, disable and enable, role, department, password reset. "Own" means the communities of
  the user's duties in force (`User.objects.visible_to`: the staff with a duty in force there);
  an own grant gives only the community's roles (models.COMMUNITY_GRANTS) and manages only staff
  holding one of them.
* departments — list / read: the department records (/departments/, /api/accounts/departments);
  create / update: create, edit, rename, end a department and set its members.
* points   — list: the volunteers' points accounts of one's grids and the award rules
  (/api/volunteers/points/..., /volunteers/points/); update: change the award rules, add
  rewards, correct a balance (administrators). A volunteer's own points, redeeming and a
  station verifying its codes are relations (the account's owner, the station's user).
* activities — list: the volunteer activities of the grids in scope with their sign-ups and
  hours (/volunteers/activities/, /api/volunteers/activities?scope=staff); create: publish one
  on a grid in scope; update: edit, cancel, check people in, confirm or correct hours, mark
  no-shows. Anyone signed in sees the published activities open to them and signs up; a team's
  leader (VolunteerTeam.leader) and a branch's secretary (PartyOrganization.secretary) publish and
  run their own team's / branch's activities, and an organiser runs their own: relations.
* wishes   — list: the wishes (微心愿) of the grids in scope; create: post one for a resident
  (a grid worker for an elderly neighbour); update: cancel or correct one; personal: see whose
  wish it is (name, house). The public wall shows every open wish's card without the person; a
  resident posting their own wish, its claimer and its confirmation are relations.
* party    — list: the 双报到 roll, the vanguard posts and the members' 实事 of the grids in
  scope; update: register a unit, end a registration, create vanguard posts and assign them.
  A party member registering themselves and a branch's secretary seeing their members are
  relations.
* deliberation — list: the topics (议题) of the grids in scope with their supports, comments,
  notes, meetings and decisions (/deliberation/, /api/deliberation/topics?scope=staff); create:
  enter a topic for a resident (a letterbox slip, a home visit) or from the month's data; update:
  choose the month's topics, move a topic through its process, decline or merge, convene
  meetings and record votes and decisions, link the work, publish the result, edit processes;
  moderate: release or reject a held comment. Proposing, supporting and commenting on the topics
  of one's compound and community, a steward collecting and forwarding the proposals of their
  buildings (楼长集), an invited party voting online and a decision's owner reporting the work
  done are relations (deliberation.services).
* property — list: the property alliance of the grids in scope (projects, inspections, the
  problem ledger, scores and rankings: /property/, /api/property/...); create: plan and conduct
  inspections (专家点、现场查); update: re-check problems (回头看), cancel inspections and
  problems, publish a quarter's scores. A property company's users see their own company's
  projects, problems and scores and answer their problems: a relation (RELATIONS["property"]
  with the company's department). The indicator system is changed by settings × update.
* gridwork — list: the grid work of the grids in scope (patrols, visits, needs, daily logs,
  highlights, monthly summaries, the quarter's assessment: /gridwork/, /api/gridwork/...);
  create: record one's own patrols, visits and needs (a grid worker, in their grids), mark
  highlights; update: pick the week's best highlight, annotate a summary, give a leader's mark,
  turn a need into a service item and close it. A worker always sees their own records (the
  record's `worker`: a relation). The assessment scheme is edited and a period published with
  reach everywhere (administrators).
* disputes — list: the disputes (矛盾纠纷) of the grids in scope and their ledger; create:
  record one; update: mediate, end, follow up; personal: the parties' phone numbers. A
  worker sees the disputes they recorded.

Kinds marked RELATIONAL (cases) also grant rights through a relation to the record whatever the
table says: a reporter or follower sees their case; the handler named on a case handles it; a
member of a department (RELATIONS["department"]: section staff with that department) sees, handles
and reports back on the cases routed to or summoning it; a property company's staff
(RELATIONS["property"]) the same within the compounds of their company's projects; a volunteer or steward (RELATIONS["grab"])
sees free grabbable tasks and takes one. The table governs territorial access only.
"""

from django.core.exceptions import PermissionDenied

NEVER, OWN, ALL = "never", "own", "all"

ROLES = (
    "resident", "volunteer", "steward", "grid_worker", "grid_leader", "community_staff",
    "community_secretary", "section_staff", "property_staff", "leader", "admin",
)
#: the actions every kind of record has (list .. personal)
RECORD_ACTIONS = ("list", "read", "create", "update", "export", "personal")
#: every action the table knows: the record actions, and the acts on cases (handle: accept, arrive,
#: resolve, return; verify: verify or send back for rework; moderate: release or reject a held report)
ACTIONS = RECORD_ACTIONS + ("handle", "verify", "moderate")

# columns: resident volunteer steward grid_worker grid_leader community_staff
#          community_secretary section_staff property_staff leader admin
# N = never, O = in own scope (assigned grid subtrees), A = everywhere.
_TABLE = """
residents      list      N N N O O O O O N A A
residents      read      N N N O O O O O N A A
residents      create    N N N O O O O N N A A
residents      update    N N N O O O O N N A A
residents      export    N N N O O O O O N A A
residents      personal  N N N O O O O N N A A
houses         list      N N N O O O O O N A A
houses         read      N N N O O O O O N A A
houses         create    N N N O O O O N N A A
houses         update    N N N O O O O N N A A
houses         export    N N N O O O O O N A A
houses         personal  N N N N N N N N N N N
addresses      list      N N N O O O O O N A A
addresses      read      N N N O O O O O N A A
addresses      create    N N N O O O O N N A A
addresses      update    N N N O O O O N N A A
addresses      export    N N N O O O O O N A A
addresses      personal  N N N N N N N N N N N
buildings      list      N N N O O O O O N A A
buildings      read      N N N O O O O O N A A
buildings      create    N N N O O O O N N A A
buildings      update    N N N O O O O N N A A
buildings      export    N N N O O O O O N A A
buildings      personal  N N N N N N N N N N N
compounds      list      N N N O O O O O N A A
compounds      read      N N N O O O O O N A A
compounds      create    N N N N N N N N N N N
compounds      update    N N N N N N N N N N N
compounds      export    N N N N N N N N N N N
compounds      personal  N N N N N N N N N N N
organizations  list      N N N O O O O O N A A
organizations  read      N N N O O O O O N A A
organizations  create    N N N O O O O N N A A
organizations  update    N N N O O O O N N A A
organizations  export    N N N O O O O O N A A
organizations  personal  N N N O O O O N N A A
places         list      N N N O O O O O N A A
places         read      N N N O O O O O N A A
places         create    N N N O O O O N N A A
places         update    N N N O O O O N N A A
places         export    N N N O O O O O N A A
places         personal  N N N N N N N N N N N
party_orgs     list      N N N O O O O O N A A
party_orgs     read      N N N O O O O O N A A
party_orgs     create    N N N O O O O N N A A
party_orgs     update    N N N O O O O N N A A
party_orgs     export    N N N O O O O O N A A
party_orgs     personal  N N N N N N N N N N N
volunteers     list      N N N O O O O O N A A
volunteers     read      N N N O O O O O N A A
volunteers     create    N N N O O O O N N A A
volunteers     update    N N N O O O O N N A A
volunteers     export    N N N O O O O O N A A
volunteers     personal  N N N O O O O N N A A
cases          list      N N N O O O O O N A A
cases          read      N N N O O O O O N A A
cases          create    A A A A A A A A A A A
cases          update    N N N N O O O N N A A
cases          export    N N N N N N N N N N N
cases          personal  N N N O O O O O N A A
tickets        list      N N N O O O O O N A A
tickets        read      N N N O O O O O N A A
tickets        create    N N N O O O O N N A A
tickets        update    N N N O O O O N N A A
tickets        export    N N N N N N N N N N N
tickets        personal  N N N N N N N N N N N
grids          list      N N N O O O O O N A A
grids          read      N N N O O O O O N A A
grids          create    N N N N N N N N N A A
grids          update    N N N N N N N N N A A
grids          export    N N N N N N N N N N N
grids          personal  N N N N N N N N N N N
cases          handle    N N N O O O O N N A A
cases          verify    N N N N N O O N N A A
cases          moderate  N N N N O O O N N A A
routing        list      N N N A A A A A N A A
routing        update    N N N N N N N N N A A
words          list      N N N N N N N N N N A
words          update    N N N N N N N N N N A
settings       update    N N N N N N N N N N A
insight        read      N N N O O O O O N A A
exports        read      N N N N N N N N N N A
taxonomy       list      N N N A A A A A N A A
taxonomy       update    N N N N N N N N N N A
settings       list      N N N N N N N N N A A
duties         list      N N N O O O O O N A A
duties         read      N N N O O O O O N A A
duties         create    N N N N N N O N N N A
duties         update    N N N N N N O N N N A
apikeys        list      N N N N N N N N N N A
apikeys        create    N N N N N N N N N N A
apikeys        update    N N N N N N N N N N A
staff          list      N N N N N N O N N A A
staff          read      N N N N N N O N N A A
staff          create    N N N N N N O N N N A
staff          update    N N N N N N O N N N A
departments    list      N N N A A A A A A A A
departments    read      N N N A A A A A A A A
departments    create    N N N N N N N N N N A
departments    update    N N N N N N N N N N A
points         list      N N N O O O O N N A A
points         update    N N N N N N N N N N A
activities     list      N N N O O O O N N A A
activities     create    N N N O O O O N N N A
activities     update    N N N N O O O N N N A
wishes         list      N N N O O O O N N A A
wishes         create    N N N O O O O N N N A
wishes         update    N N N O O O O N N N A
wishes         personal  N N N O O O O N N N A
party          list      N N N O O O O N N A A
party          update    N N N N N O O N N N A
deliberation   list      N N N O O O O O N A A
deliberation   create    N N N O O O O N N N A
deliberation   update    N N N N O O O N N N A
deliberation   moderate  N N N N O O O N N N A
property       list      N N N O O O O O N A A
property       create    N N N N N O O O N N A
property       update    N N N N N O O O N N A
gridwork       list      N N N N O O O N N A A
gridwork       create    N N N O O O O N N N A
gridwork       update    N N N N O O O N N N A
disputes       list      N N N O O O O N N A A
disputes       create    N N N O O O O N N N A
disputes       update    N N N O O O O N N N A
disputes       personal  N N N O O O O N N N A
"""

_LETTER = {"N": NEVER, "O": OWN, "A": ALL}


def _parse(text: str) -> dict:
    table = {}
    for line in text.strip().splitlines():
        kind, action, *cells = line.split()
        assert len(cells) == len(ROLES), line
        assert action in ACTIONS, line
        assert (ROLES[0], kind, action) not in table, line
        for role, cell in zip(ROLES, cells):
            table[(role, kind, action)] = _LETTER[cell]
    return table


#: (role, kind, action) -> NEVER | OWN | ALL
POLICY: dict[tuple[str, str, str], str] = _parse(_TABLE)
KINDS = tuple(dict.fromkeys(k for _, k, _ in POLICY))
#: kinds of records (every RECORD_ACTION has a row); the others (routing, words, settings,
#: insight) name what a check protects, with only the actions it has
RECORD_KINDS = tuple(k for k in KINDS if all((ROLES[0], k, a) in POLICY for a in RECORD_ACTIONS))
#: kinds where a relation to the record (reporter, handler, ...) grants rights besides the table
RELATIONAL = frozenset({"cases"})
#: kinds whose records hold encrypted personal fields
PERSONAL_KINDS = frozenset(k for (r, k, a), v in POLICY.items() if a == "personal" and v != NEVER and k != "cases")


#: rights a relation to a case gives (RELATIONAL), whatever the table says: which roles hold
#: each. "grab": see the free volunteer tasks (grabbable items at the grid level) and take one —
#: volunteers and building stewards (楼门长, who are volunteers of their building: 苑苑).
#: "department": the member of a department (section staff whose `department` is set) handles the
#: cases routed to it, sees the cases routed to or summoning it, and reports back on its summonses.
#: "property": the member of a property company's department (property staff) does the same, but
#: only for the cases lying in the compounds of their company's property projects (Case.compound):
#: the 物业 items routed there and the summonses of the company there; nothing else.
RELATIONS: dict[str, frozenset] = {
    "grab": frozenset({"volunteer", "steward"}),
    "department": frozenset({"section_staff"}),
    "property": frozenset({"property_staff"}),
}


def holds(user, relation: str) -> bool:
    """Whether an active user's role holds `relation` (RELATIONS)."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    return user.role in RELATIONS[relation]


def reach(user, kind: str, action: str) -> str:
    """NEVER, OWN or ALL for this user (inactive and anonymous users: NEVER)."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return NEVER
    if (None, kind, action) not in _KNOWN:
        raise KeyError(f"no policy for {kind!r} × {action!r}")
    if user.is_superuser:
        return ALL
    r = POLICY.get((user.role, kind, action), NEVER)
    if r == ALL and user.role in STREET_WIDE:
        from .scope import scope_of

        if not scope_of(user).everything:
            # a street's leader under a district: "all" is their street (accounts.scope); what is
            # not a record of a grid (settings, routing, words, ...) is the district's to change
            if kind in INSTALL_WIDE and action not in ("list", "read"):
                return NEVER
            return OWN
    return r


#: kinds that are the install's, not a grid's: under a district only its own leaders and
#: administrators change them (a street's read them)
INSTALL_WIDE = frozenset({"routing", "words", "settings", "taxonomy", "departments", "apikeys"})
#: the roles whose "all" is the whole street (accounts.models.STREET_WIDE_ROLES)
STREET_WIDE = frozenset({"leader", "admin"})


_KNOWN = {(None, k, a) for (_, k, a) in POLICY}


def allows(user, kind: str, action: str, grid_path: str | None = None) -> bool:
    """Whether `user` may do `action` on a record of `kind` lying on `grid_path`.

    Without a path, whether the action is open to the user at all (somewhere)."""
    r = reach(user, kind, action)
    if r == NEVER:
        return False
    if r == ALL:
        return True
    from .scope import scope_of

    scope = scope_of(user)
    if grid_path is None:
        return True
    return scope.covers_path(grid_path)


def require(user, kind: str, action: str, grid_path: str | None = None) -> None:
    """Raise PermissionDenied unless `allows(...)`."""
    if not allows(user, kind, action, grid_path):
        raise PermissionDenied(f"not allowed: {action} {kind}")


def api_require(request, kind: str, action: str) -> None:
    """`require` for the JSON API: answers 403 with {"detail": ...}."""
    from ninja.errors import HttpError

    if not allows(request.user, kind, action):
        raise HttpError(403, f"not allowed: {action} {kind}")
