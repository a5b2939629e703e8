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
        from gridgov.accounts.scope import scope_of

        kind = getattr(self.model, "policy_kind", None)
        if kind is not None:
            from gridgov.accounts import policy

            reach = policy.reach(user, kind, "read")
            if reach == policy.NEVER:
                return self.none()
            if reach == policy.ALL:
                return self
        scope = scope_of(user)
        if scope.everything:
            return self
        if not scope.paths:
            return self.none()
        q = Q()
        for path in scope.paths:
            q |= Q(**{f"{self.grid_path_lookup}__startswith": path})
        return self.filter(q)


def scoped_queryset(lookup: str):
    """A ScopedQuerySet subclass whose rows reach their grid through `lookup` (e.g. 'path')."""
    return type(f"ScopedQuerySet_{lookup.replace('__', '_')}", (ScopedQuerySet,), {"grid_path_lookup": lookup})
