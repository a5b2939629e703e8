from django.conf import settings
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


class AuditEntry(models.Model):
    """One read or export of personal data, or another sensitive act.

    Entries are hash-chained: each holds the hash of the previous one, so a deleted or altered
    entry breaks the chain (`gridgov audit verify`)."""

    at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40)  # reveal, export, erase, ...
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    fields = models.CharField(max_length=200, blank=True)
    detail = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.object_type}#{self.object_id}"
