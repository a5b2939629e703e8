"""What part of the street a user serves.

A staff user's scope is the set of grid nodes they serve today (their duties in force,
GridAssignment.objects.in_force), each with its whole subtree: an ended duty gives nothing.
Leaders and administrators see the whole street. Residents, volunteers and anonymous users
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
    if user.is_superuser or user.role in STREET_WIDE_ROLES:
        scope = Scope(everything=True)
    elif user.role in STAFF_ROLES:
        paths = user.assignments.in_force().values_list("node__path", flat=True)
        scope = Scope(paths=_minimal(paths))
    else:
        scope = Scope()
    user._gridgov_scope = scope
    return scope


def forget_scope(user):
    if hasattr(user, "_gridgov_scope"):
        del user._gridgov_scope


def may_see_personal_data(user, grid_path: str | None, kind: str = "residents") -> bool:
    """Whether `user` may read decrypted ID numbers and phones of a `kind` record on `grid_path`
    (the access table in accounts.policy, action "personal")."""
    from .policy import allows

    if grid_path is None and not (getattr(user, "is_superuser", False) or getattr(user, "role", None) in STREET_WIDE_ROLES):
        return False  # a record placed nowhere: street-wide roles only
    return allows(user, kind, "personal", grid_path)
