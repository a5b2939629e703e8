"""Row access by grid: the queryset every model of base data, cases and tickets uses, so that
pages, API and exports restrict rows with `.visible_to(user)` and nothing else. It asks the
one access table (accounts.policy) and the user's grid subtrees (accounts.scope)."""

from django.db import models
from django.db.models import Q


class ScopedQuerySet(models.QuerySet):
    """A queryset that knows which rows a user may see.

    Every model that holds base data uses it (through `ScopedManager`); pages, API and exports
    call `.visible_to(user)` and nothing else to restrict rows. A row is visible when its grid
    lies inside one of the grid subtrees the user serves (see accounts.scope)."""

    #: lookup from this model to GridNode.path
    grid_path_lookup = "grid__path"

    def visible_to(self, user):
        """Rows `user` may read. A model naming its `policy_kind` follows the access table
        (accounts.policy): never → no rows, all → every row, own → the user's grid subtrees."""
        kind = getattr(self.model, "policy_kind", None)
        if kind is not None:
            return within_reach(self, user, kind, "read", self.grid_path_lookup)
        return _in_scope(self, user, (self.grid_path_lookup,))


def within_reach(qs, user, kind: str, action: str, *lookups: str):
    """`qs` narrowed to the rows `user` reaches for `kind` × `action` in the access table:
    never → no rows, all → every row, own → the rows whose grid path (by any of `lookups`,
    e.g. "node__path") lies in one of the grid subtrees the user serves. For the records that
    are not base data (activities, wishes, points accounts, ...), whose kind has "list" rather
    than "read"."""
    from gridgov.accounts import policy

    reach = policy.reach(user, kind, action)
    if reach == policy.NEVER:
        return qs.none()
    if reach == policy.ALL:
        return qs
    return _in_scope(qs, user, lookups)


def _in_scope(qs, user, lookups):
    from gridgov.accounts.scope import scope_of

    scope = scope_of(user)
    if scope.everything:
        return qs
    if not scope.paths:
        return qs.none()
    q = Q()
    for path in scope.paths:
        for lookup in lookups:
            q |= Q(**{f"{lookup}__startswith": path})
    return qs.filter(q)


def scoped_queryset(lookup: str):
    """A ScopedQuerySet subclass whose rows reach their grid through `lookup` (e.g. 'path')."""
    return type(f"ScopedQuerySet_{lookup.replace('__', '_')}", (ScopedQuerySet,), {"grid_path_lookup": lookup})
