from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from .querysets import ScopedQuerySet


class Role(models.TextChoices):
    RESIDENT = "resident", _("居民")
    VOLUNTEER = "volunteer", _("志愿者")
    STEWARD = "steward", _("楼门长")
    GRID_WORKER = "grid_worker", _("网格员")
    GRID_LEADER = "grid_leader", _("网格长")
    COMMUNITY_STAFF = "community_staff", _("社区工作者")
    COMMUNITY_SECRETARY = "community_secretary", _("社区书记")
    SECTION_STAFF = "section_staff", _("科室人员")
    PROPERTY_STAFF = "property_staff", _("物业人员")
    LEADER = "leader", _("街道领导")
    ADMIN = "admin", _("系统管理员")


#: roles that work on the platform's back office (workbench, base data)
STAFF_ROLES = {
    Role.GRID_WORKER,
    Role.GRID_LEADER,
    Role.COMMUNITY_STAFF,
    Role.COMMUNITY_SECRETARY,
    Role.SECTION_STAFF,
    Role.PROPERTY_STAFF,
    Role.LEADER,
    Role.ADMIN,
}
#: roles that see the whole street whatever their assignments
STREET_WIDE_ROLES = {Role.LEADER, Role.ADMIN}
#: the roles a community secretary (an "own" grant of staff × create / update) may give: the
#: community's own people, never the street's (leader, admin), a section's or a property company's
COMMUNITY_GRANTS = (Role.GRID_WORKER, Role.GRID_LEADER, Role.COMMUNITY_STAFF, Role.STEWARD, Role.VOLUNTEER)


def community_prefix(path: str) -> str:
    """The path of the community a grid node path lies in; the street's own path for the street
    node ('' above the streets). The levels follow geo.levels."""
    from gridgov.core.levels import community_path

    return community_path(path)


class UserQuerySet(models.QuerySet):
    def visible_to(self, user, action: str = "read"):
        """The staff accounts `user` may see (policy kind "staff", action read; or the ones they
        may act on, `action="update"`): everywhere, every user but residents (superusers
        included); in their own scope, the users with a duty in force in one of the communities
        of the viewer's duties in force (so a staff member without any duty is seen by
        street-wide roles only); never, nobody."""
        from .policy import ALL, NEVER, reach

        r = reach(user, "staff", action)
        if r == NEVER:
            return self.none()
        qs = self.exclude(models.Q(role=Role.RESIDENT) & models.Q(is_superuser=False))
        if r == ALL:
            return qs
        prefixes = staff_communities(user)
        if not prefixes:
            return self.none()
        cond = models.Q()
        for p in prefixes:
            cond |= models.Q(node__path__startswith=p)
        on_duty = GridAssignment.objects.in_force().filter(cond).values("user_id")
        return qs.filter(pk__in=on_duty)


def staff_communities(user) -> tuple[str, ...]:
    """The path prefixes of the communities of `user`'s duties in force (a secretary's
    community); cached on the user object for the request."""
    cached = getattr(user, "_gridgov_staff_communities", None)
    if cached is not None:
        return cached
    paths = GridAssignment.objects.in_force().filter(user=user).values_list("node__path", flat=True)
    out = tuple(sorted({community_prefix(p) for p in paths if p}))
    user._gridgov_staff_communities = out
    return out


class StaffUserManager(UserManager.from_queryset(UserQuerySet)):
    """Django's user manager (create_user, create_superuser, natural keys) with `visible_to`.

    Migrations keep seeing Django's UserManager (what a data migration needs of it), so adding
    the queryset method needs no migration."""

    def deconstruct(self):
        return False, "django.contrib.auth.models.UserManager", None, self._constructor_args[0], self._constructor_args[1]

    def __eq__(self, other):  # equal to the UserManager the migrations hold
        return isinstance(other, UserManager) and self._constructor_args == other._constructor_args

    __hash__ = UserManager.__hash__


class User(AbstractUser):
    role = models.CharField(max_length=30, choices=Role.choices, default=Role.RESIDENT, db_index=True)
    display_name = models.CharField(max_length=100, blank=True)
    phone_enc = models.TextField(blank=True)
    phone_masked = models.CharField(max_length=20, blank=True)
    phone_hash = models.CharField(max_length=40, blank=True, db_index=True)
    department = models.CharField(
        max_length=100, blank=True,
        help_text="the Department (by name) this user is a member of: section staff, unit or property staff",
    )
    # set by an administrator's password reset (or a bulk import): the next login must choose a new one
    must_change_password = models.BooleanField(default=False)
    # optional second factor (TOTP, RFC 6238); the secret is encrypted like personal data
    totp_secret_enc = models.TextField(blank=True)
    totp_enabled = models.BooleanField(default=False)
    # the last TOTP time step accepted (each code is used once: a later login needs a later step)
    totp_last_step = models.BigIntegerField(default=0)

    objects = StaffUserManager()

    def __str__(self):
        return self.display_name or self.username

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES or self.is_superuser

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label) if self.role in Role.values else self.role


class Duty(models.TextChoices):
    SECRETARY = "secretary", _("书记")
    LEADER = "leader", _("网格长")
    WORKER = "worker", _("网格员")
    STAFF = "staff", _("工作人员")
    PARTY_LIAISON = "party_liaison", _("党建指导员")
    STEWARD = "steward", _("楼门长")
    VOLUNTEER = "volunteer", _("志愿者")


class GridAssignmentQuerySet(ScopedQuerySet):
    #: a duty lies on the node it serves: `visible_to` (policy kind "duties") reads its path
    grid_path_lookup = "node__path"

    def in_force(self, at=None):
        """The duties in force on date `at` (default: today, local time): started on or before it
        (or with no start), not ended before it. `until` is the last day served."""
        from django.utils import timezone

        day = at or timezone.localdate()
        return self.filter(models.Q(since__isnull=True) | models.Q(since__lte=day)).filter(
            models.Q(until__isnull=True) | models.Q(until__gte=day)
        )


class GridAssignment(models.Model):
    """A duty: a person serving a grid node (grid leader, grid worker, party liaison, steward, ...)
    from `since` to `until` (the last day served; open while null). Ending a duty sets `until`
    and never deletes the row, so "who served grid X on date D" keeps one answer. The duties in
    force today are the people in charge of a grid and a user's scope."""

    user = models.ForeignKey(User, related_name="assignments", on_delete=models.CASCADE)
    node = models.ForeignKey("geo.GridNode", related_name="assignments", on_delete=models.CASCADE)
    duty = models.CharField(max_length=20, choices=Duty.choices)
    since = models.DateField(null=True, blank=True)
    until = models.DateField(null=True, blank=True, db_index=True)
    ended_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    end_note = models.CharField(max_length=200, blank=True)

    objects = GridAssignmentQuerySet.as_manager()
    policy_kind = "duties"

    class Meta:
        constraints = [
            # one open duty per person, grid and kind of duty; ended ones are history
            models.UniqueConstraint(fields=["user", "node", "duty"], condition=models.Q(until__isnull=True),
                                    name="one_open_duty"),
        ]
        indexes = [models.Index(fields=["node", "duty"])]

    def __str__(self):
        return f"{self.user} {self.get_duty_display()} @ {self.node.name}"


class Department(models.Model):
    """A department that handles or is summoned to cases: one of the street's functional sections
    (职能科室), an outside unit (城管执法, 派出所, 市场监管, 住建, 供水供电燃气, ...) or a property
    company. Its members are the users whose `department` names it; items, routing and summonses
    name it. It is ended (active False), never deleted, once anything points at it."""

    class Kind(models.TextChoices):
        SECTION = "section", _("职能科室")
        UNIT = "unit", _("驻街单位")
        PROPERTY = "property", _("物业公司")

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.SECTION)
    contact_name = models.CharField(max_length=50, blank=True)
    contact_phone = models.CharField(max_length=30, blank=True, help_text="the office's work number")
    note = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self):
        return self.name


class ExternalLogin(models.Model):
    """A sign-in identity from outside (a WeChat openid, ...) bound to a user."""

    provider = models.CharField(max_length=20)
    subject = models.CharField(max_length=128)
    user = models.ForeignKey(User, related_name="external_logins", on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "subject"], name="one_user_per_external_login")]


class LoginAttempt(models.Model):
    """One login attempt, kept for throttling (in the database, so every process sees it)."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(db_index=True)
    success = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["username", "at"]), models.Index(fields=["ip", "at"])]


class PhoneCode(models.Model):
    """A one-time code sent to a phone number to prove that whoever types it holds the phone
    (self-registration now; SMS sign-in later). Only a keyed hash of the code is kept; it expires,
    is used once (compare-and-set on used_at) and allows a few attempts. A row with an empty
    code_hash is a decoy (the number was already registered): no code can answer it."""

    purpose = models.CharField(max_length=20)
    phone_hash = models.CharField(max_length=40, db_index=True)
    phone_enc = models.TextField()
    phone_masked = models.CharField(max_length=20)
    code_hash = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
