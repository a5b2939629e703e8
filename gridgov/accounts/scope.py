"""What part of the street a user serves.

A staff user's scope is the set of grid nodes they serve today (their duties in force,
GridAssignment.objects.in_force), each with its whole subtree: an ended duty gives nothing.
Leaders and administrators see the whole street; under a district or a city, the streets they
serve (the whole install when they serve the district itself). Residents, volunteers and anonymous users
have no base-data scope."""

from dataclasses import dataclass, field

from .models import STAFF_ROLES, STREET_WIDE_ROLES


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    paths: tuple[str, ...] = field(default_factory=tuple)

    def covers_path(self, path: str | None) -> bool:
        if self.everything:
            return True
        if not path:
            return False
        return any(path.startswith(p) for p in self.paths)


def _minimal(paths):
    """Drop paths already covered by a shorter one."""
    out = []
    for p in sorted(set(paths), key=len):
        if not any(p.startswith(q) for q in out):
            out.append(p)
    return tuple(sorted(out))


def scope_of(user) -> Scope:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Scope()
    cached = getattr(user, "_gridgov_scope", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        scope = Scope(everything=True)
    elif user.role in STREET_WIDE_ROLES:
        scope = _street_wide(user)
    elif user.role in STAFF_ROLES:
        paths = user.assignments.in_force().values_list("node__path", flat=True)
        scope = Scope(paths=_minimal(paths))
    else:
        scope = Scope()
    user._gridgov_scope = scope
    return scope


def _street_wide(user) -> Scope:
    """A leader's or administrator's scope: the whole install when it is one street; under a
    district or a city, the streets of their duties in force (the whole install for a duty above
    the streets, nothing without a duty)."""
    from gridgov.core import levels

    if not levels.multi_street():
        return Scope(everything=True)
    paths = list(user.assignments.in_force().values_list("node__path", flat=True))
    if any(p and not levels.street_path(p) for p in paths):
        return Scope(everything=True)
    return Scope(paths=_minimal(levels.street_path(p) for p in paths if p))


def forget_scope(user):
    if hasattr(user, "_gridgov_scope"):
        del user._gridgov_scope


def may_see_personal_data(user, grid_path: str | None, kind: str = "residents") -> bool:
    """Whether `user` may read decrypted ID numbers and phones of a `kind` record on `grid_path`
    (the access table in accounts.policy, action "personal")."""
    from .policy import allows

    if grid_path is None and not scope_of(user).everything:
        return False  # a record placed nowhere: street-wide roles only
    return allows(user, kind, "personal", grid_path)
