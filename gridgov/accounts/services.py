"""Accounts: login throttling, the optional TOTP second factor, one-time phone codes, and the
staff accounts that administrators and community secretaries manage."""

import hashlib
import hmac
import math
import secrets
from datetime import timedelta

import pyotp
from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridgov.core.errors import CodedError
from gridgov.core import audit, conf, crypto

from .models import (
    COMMUNITY_GRANTS,
    Department,
    Duty,
    GridAssignment,
    LoginAttempt,
    PhoneCode,
    Role,
    User,
    community_prefix,
    staff_communities,
)

def _conf(name: str, default: int) -> int:
    """A throttling tunable: the Django setting `name`, else `default` (gridgov.core.conf)."""
    return conf.get_int(name, default)


class Throttled(Exception):
    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


def _minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


def check_throttle(username: str, ip: str | None, now=None) -> None:
    """Raise Throttled (with the seconds to wait) before a login is tried.

    Failures are counted in the database (every process sees them) over the window
    (LOGIN_THROTTLE_MINUTES, 15):
    - per (user name, address) pair: LOGIN_FREE_FAILURES_PER_PAIR (5) free, then each further
      try waits LOGIN_DELAY_SECONDS (30) after the last failure, doubling with every failure up to
      the window. Only that pair waits: the same user from another address is not slowed down.
    - per address, whatever the user names: LOGIN_MAX_FAILURES_PER_IP (30) (password spraying).
    - per user name from every address: LOGIN_MAX_FAILURES_PER_USER (100), a ceiling against a
      guess distributed over many addresses (reaching it takes at least a dozen addresses, since
      each pair is slowed down); an address where this user logged in before
      (LOGIN_KNOWN_ADDRESS_DAYS, 30) still gets in."""
    now = now or timezone.now()
    window = timedelta(minutes=_conf("LOGIN_THROTTLE_MINUTES", 15))
    name = username.lower()
    recent = LoginAttempt.objects.filter(at__gte=now - window, success=False)
    pair = recent.filter(username=name, ip=ip or None)
    free = _conf("LOGIN_FREE_FAILURES_PER_PAIR", 5)
    n = pair.count()
    if n >= free:
        last = pair.aggregate(last=Max("at"))["last"]
        wait = min(timedelta(seconds=_conf("LOGIN_DELAY_SECONDS", 30) * 2 ** min(n - free, 20)), window)
        if now < last + wait:
            left = (last + wait - now).total_seconds()
            raise Throttled(_("登录失败次数过多，请 %(minutes)d 分钟后再试。") % {"minutes": _minutes(left)}, left)
    if ip:
        by_ip = recent.filter(ip=ip)
        if by_ip.count() >= _conf("LOGIN_MAX_FAILURES_PER_IP", 30):
            left = (by_ip.aggregate(first=Min("at"))["first"] + window - now).total_seconds()
            raise Throttled(_("该地址登录失败次数过多，请 %(minutes)d 分钟后再试。") % {"minutes": _minutes(left)}, left)
    by_user = recent.filter(username=name)
    if by_user.count() >= _conf("LOGIN_MAX_FAILURES_PER_USER", 100):
        known = ip and LoginAttempt.objects.filter(
            username=name, ip=ip, success=True, at__gte=now - timedelta(days=_conf("LOGIN_KNOWN_ADDRESS_DAYS", 30))
        ).exists()
        if not known:
            left = (by_user.aggregate(first=Min("at"))["first"] + window - now).total_seconds()
            raise Throttled(_("登录失败次数过多，请 %(minutes)d 分钟后再试。") % {"minutes": _minutes(left)}, left)


def record_attempt(username: str, ip: str | None, success: bool) -> None:
    name = username.lower()
    LoginAttempt.objects.create(username=name, ip=ip or None, at=timezone.now(), success=success)
    if success:  # a success clears the failures of this pair only (not a stranger's elsewhere)
        LoginAttempt.objects.filter(username=name, ip=ip or None, success=False).delete()
        purge_attempts()


def purge_attempts() -> int:
    """Forget failures older than a day and successes older than the known-address horizon."""
    now = timezone.now()
    days = _conf("LOGIN_KNOWN_ADDRESS_DAYS", 30)
    return LoginAttempt.objects.filter(
        Q(success=False, at__lt=now - timedelta(days=1)) | Q(at__lt=now - timedelta(days=days))
    ).delete()[0]


# ---- TOTP -----------------------------------------------------------------------------------


class WrongCode(ValueError):
    pass


def _totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="gridgov")


def pending_totp_uri(user: User) -> tuple[str, str] | None:
    """(secret, URI) of an enrolment started and not yet confirmed, to show again; None when
    the factor is on (its secret is never shown again) or no enrolment was started."""
    if user.totp_enabled or not user.totp_secret_enc:
        return None
    secret = crypto.decrypt(user.totp_secret_enc)
    return secret, _totp_uri(user, secret)


@transaction.atomic
def start_totp(user: User, code: str = "") -> tuple[str, str]:
    """A new secret for the user (not yet enabled); returns (secret, otpauth URI) to show once.
    When the factor is on, this turns it off until the new secret is confirmed, so it needs a
    fresh valid code of the current secret, and is audited."""
    was_on = user.totp_enabled
    if was_on and not verify_totp(user, code):
        raise WrongCode(_("验证码不正确，请重试。"))
    secret = pyotp.random_base32()
    user.totp_secret_enc = crypto.encrypt(secret)
    user.totp_enabled = False
    user.totp_last_step = 0  # a new secret: none of its codes was used
    user.save(update_fields=["totp_secret_enc", "totp_enabled", "totp_last_step"])
    if was_on:
        audit.record(user, "totp_restarted", user)
    return secret, _totp_uri(user, secret)


def verify_totp(user: User, code: str) -> bool:
    """True when `code` is the user's code of the current time step (±1) and no code of that
    step or a later one was used before; the step is then consumed with a compare-and-set, so a
    code works once, even for two logins at the same moment."""
    if not user.totp_secret_enc:
        return False
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit():
        return False
    totp = pyotp.TOTP(crypto.decrypt(user.totp_secret_enc))
    now = totp.timecode(timezone.now())
    for step in (now - 1, now, now + 1):
        if pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            used = User.objects.filter(pk=user.pk, totp_last_step__lt=step).update(totp_last_step=step)
            if used:
                user.totp_last_step = step
            return bool(used)
    return False


@transaction.atomic
def confirm_totp(user: User, code: str) -> bool:
    """Enable the second factor once the user proves their authenticator shows the right code."""
    if not verify_totp(user, code):
        return False
    user.totp_enabled = True
    user.save(update_fields=["totp_enabled"])
    audit.record(user, "totp_enabled", user)
    return True


@transaction.atomic
def disable_totp(user: User, by: User, code: str = "") -> None:
    """Turn the second factor off: the user themselves must give a fresh valid code."""
    if user.totp_enabled and by.pk == user.pk and not verify_totp(user, code):
        raise WrongCode(_("验证码不正确，请重试。"))
    user.totp_enabled = False
    user.totp_secret_enc = ""
    user.save(update_fields=["totp_enabled", "totp_secret_enc"])
    audit.record(by, "totp_disabled", user)


# ---- one-time codes sent to a phone ---------------------------------------------------------


class CodeRefused(ValueError):
    """Too many codes asked for this number; retry_after in seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def _code_hash(pc_purpose: str, phone_hash: str, code: str) -> str:
    msg = f"{pc_purpose}:{phone_hash}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), msg, hashlib.sha256).hexdigest()


def issue_phone_code(purpose: str, phone: str, data: dict | None = None, decoy: bool = False) -> tuple[PhoneCode, str]:
    """A new code for `phone` (PHONE_CODE_MINUTES, 10, to use it; PHONE_CODE_ATTEMPTS, 5, tries),
    limited per number to PHONE_CODES_PER_HOUR (5) in the shared rate counters. Returns the row
    and the code to send; a decoy row (decoy=True) keeps no code and no code can answer it, so
    the caller can answer the same way whether or not it sends a code."""
    from gridgov.core import ratelimit

    phone_hash = crypto.blind_index(phone)
    verdict = ratelimit.hit(f"phone-code:{phone_hash}", _conf("PHONE_CODES_PER_HOUR", 5), 3600)
    if not verdict.allowed:
        raise CodeRefused(
            _("该手机号获取验证码过于频繁，请 %(minutes)d 分钟后再试。") % {"minutes": _minutes(verdict.retry_after)},
            verdict.retry_after,
        )
    purge_phone_codes()
    code = f"{secrets.randbelow(10**6):06d}"
    now = timezone.now()
    pc = PhoneCode.objects.create(
        purpose=purpose, phone_hash=phone_hash, phone_enc=crypto.encrypt(phone), phone_masked=crypto.mask_phone(phone),
        code_hash="" if decoy else _code_hash(purpose, phone_hash, code), data=data or {}, created_at=now,
        expires_at=now + timedelta(minutes=_conf("PHONE_CODE_MINUTES", 10)),
    )
    return pc, code


def use_phone_code(pk, purpose: str, code: str) -> PhoneCode | None:
    """The row when `code` answers it: unexpired, unused, under the attempt limit; it is then
    used up (compare-and-set, so two requests cannot both use it). Every try counts, and is
    committed (call it outside a transaction, as the views do)."""
    code = (code or "").strip()
    now = timezone.now()
    live = PhoneCode.objects.filter(
        pk=pk, purpose=purpose, used_at__isnull=True, expires_at__gt=now, attempts__lt=_conf("PHONE_CODE_ATTEMPTS", 5)
    )
    with transaction.atomic():
        if not live.update(attempts=F("attempts") + 1):
            return None
    pc = PhoneCode.objects.get(pk=pk)
    if not pc.code_hash or not hmac.compare_digest(pc.code_hash, _code_hash(purpose, pc.phone_hash, code)):
        return None
    if not PhoneCode.objects.filter(pk=pk, used_at__isnull=True).update(used_at=now):
        return None
    pc.used_at = now
    return pc


def purge_phone_codes() -> int:
    return PhoneCode.objects.filter(expires_at__lt=timezone.now() - timedelta(days=1)).delete()[0]


# ---- staff: accounts managed by administrators and community secretaries ----------------------
#
# Who: the policy table's kind "staff" (list, read, create, update). "All" (administrators):
# every account but residents', any role. "Own" (community secretaries): the staff with a duty in
# force in one of the communities of the secretary's own duties in force
# (User.objects.visible_to), and only the community's roles (models.COMMUNITY_GRANTS), both as
# what they may give and as whom they may change: never a leader, an administrator, a section's or
# a property company's account, nor another secretary's, nor their own.
#
# A new account made by an "own" grant must belong to the secretary's community at once, or the
# secretary could not see it again: it is created with a duty in force from today on the grid
# named (inside the secretary's community), or, when none is named and the secretary serves one
# community, on that community itself (the duty the role implies: a grid worker a "worker" duty,
# ...). Administrators may name a grid, or none (such an account is seen by street-wide roles
# only until a duty is given on the duties page).
#
# Every password set by someone else (a new account, a reset, a bulk import) is temporary: the
# account's next sign-in must change it (User.must_change_password, accounts.middleware).
# Every change is one transaction with one history row (core.history, kind "staff"; the phone
# appears masked there).


class StaffError(CodedError):
    """An error of the staff services: a stable `code` for clients and a Chinese message marked
    for translation, formatted with its `params` after translation (as cases.services.CaseError):
    `message` (also `str(exc)`) in the reader's language, `source_message()` in Chinese."""


class StaffInvalid(StaffError, ValueError):
    code = "invalid"


class StaffNotAllowed(StaffError):
    code = "forbidden"


class StaffConflict(StaffError):
    code = "conflict"

#: the fields of a staff account its history keeps (the phone as its masked copy)
STAFF_FIELDS = ("username", "display_name", "role", "department", "phone", "is_active", "must_change_password")
#: the roles the staff pages manage (residents sign themselves up)
MANAGED_ROLES = tuple(r for r in Role.values if r != Role.RESIDENT)
#: the duty a role implies when an account is given one without naming it
DUTY_OF_ROLE = {
    Role.GRID_WORKER: Duty.WORKER, Role.GRID_LEADER: Duty.LEADER, Role.COMMUNITY_STAFF: Duty.STAFF,
    Role.COMMUNITY_SECRETARY: Duty.SECRETARY, Role.STEWARD: Duty.STEWARD, Role.VOLUNTEER: Duty.VOLUNTEER,
}
_TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def grantable_roles(actor, action: str = "create") -> tuple[str, ...]:
    """The roles `actor` may give (staff × create, or × update for a role change)."""
    from . import policy

    r = policy.reach(actor, "staff", action)
    if r == policy.ALL:
        return MANAGED_ROLES
    if r == policy.OWN:
        return tuple(str(x) for x in COMMUNITY_GRANTS)
    return ()


def may_manage(actor, target) -> bool:
    """Whether `actor` may change `target` (staff × update): visible to them, not themselves,
    a superuser only by a superuser, and for an own grant only an account holding a community role."""
    from . import policy

    r = policy.reach(actor, "staff", "update")
    if r == policy.NEVER or target.pk == actor.pk:
        return False
    if target.is_superuser and not actor.is_superuser:
        return False
    if not User.objects.visible_to(actor, "update").filter(pk=target.pk).exists():
        return False
    return r == policy.ALL or target.role in COMMUNITY_GRANTS


def _require_manage(actor, target):
    if not may_manage(actor, target):
        raise StaffNotAllowed(gettext_lazy("无权管理该工作人员"), code="forbidden")


def temporary_password() -> str:
    """A password to hand over once: 12 letters and digits (no look-alikes), valid under the
    password rules."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    while True:
        pw = "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(12))
        if not (any(c.isdigit() for c in pw) and any(c.isalpha() for c in pw)):
            continue
        try:
            validate_password(pw)
        except ValidationError:
            continue
        return pw


def check_password_rules(password: str, user=None) -> None:
    """Django's password validators (settings.AUTH_PASSWORD_VALIDATORS): StaffInvalid with
    their messages, code weak_password."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    if not password:
        raise StaffInvalid(gettext_lazy("请填写密码"), code="password_required")
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise StaffInvalid(gettext_lazy("密码不符合要求：%(reasons)s"), code="weak_password",
                           reasons="".join(str(m) for m in exc.messages)) from None


def clean_username(username: str) -> str:
    from django.contrib.auth.validators import UnicodeUsernameValidator
    from django.core.exceptions import ValidationError

    name = (username or "").strip()
    if not name:
        raise StaffInvalid(gettext_lazy("请填写用户名"), code="username_required")
    if len(name) > 150:
        raise StaffInvalid(gettext_lazy("用户名过长：最多150个字符"), code="invalid_username")
    try:
        UnicodeUsernameValidator()(name)
    except ValidationError:
        raise StaffInvalid(gettext_lazy("用户名只能包含字母、数字和 @ . + - _"), code="invalid_username") from None
    if User.objects.filter(username__iexact=name).exists():
        raise StaffConflict(gettext_lazy("用户名 %(username)s 已被使用"), code="username_taken", username=name)
    return name


def clean_display_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise StaffInvalid(gettext_lazy("请填写姓名"), code="display_name_required")
    if len(name) > 100:
        raise StaffInvalid(gettext_lazy("姓名过长：最多100个字符"), code="invalid_display_name")
    return name


def clean_role(actor, role: str, action: str = "create") -> str:
    role = (role or "").strip()
    if role not in Role.values:
        raise StaffInvalid(gettext_lazy("未知的角色：%(role)s"), code="invalid_role", role=role)
    if role not in grantable_roles(actor, action):
        raise StaffNotAllowed(gettext_lazy("您不能授予该角色：%(role)s"), code="role_not_allowed", role=Role(role).label)
    return role


def clean_department(name: str) -> str:
    """'' or the name of an active Department."""
    name = (name or "").strip()
    if name and not Department.objects.filter(name=name, active=True).exists():
        raise StaffInvalid(gettext_lazy("未找到该部门：%(name)s"), code="unknown_department", name=name)
    return name


def clean_phone(phone: str) -> str:
    from gridgov.core.validators import phone_error

    phone = (phone or "").strip().replace(" ", "")
    if phone and phone_error(phone):
        raise StaffInvalid(gettext_lazy("手机号格式错误：应为11位手机号或带区号的固定电话"), code="invalid_phone")
    return phone


def clean_duty_place(actor, grid, duty: str | None, role: str):
    """(grid node or None, duty or None) for a new account (see the rule above): the node named
    must lie in an own grant's communities; without one an own grant uses its only community."""
    from . import policy

    GridNode = GridAssignment._meta.get_field("node").related_model  # noqa: N806 (geo sits above accounts)

    own = policy.reach(actor, "staff", "create") == policy.OWN
    node = None
    if grid:
        node = grid if isinstance(grid, GridNode) else GridNode.objects.filter(code=str(grid).strip()).first()
        if node is None:
            raise StaffInvalid(gettext_lazy("未找到该网格：%(grid)s"), code="unknown_grid", grid=grid)
    if own:
        communities = staff_communities(actor)
        if node is None:
            if len(communities) != 1:
                raise StaffInvalid(gettext_lazy("请指定所在网格"), code="grid_required")
            node = GridNode.objects.filter(path=communities[0]).first()
            if node is None:
                raise StaffInvalid(gettext_lazy("请指定所在网格"), code="grid_required")
        elif not any(node.path.startswith(p) for p in communities):
            raise StaffNotAllowed(gettext_lazy("该网格不在您所在的社区"), code="grid_out_of_scope")
    if node is None:
        return None, None
    duty = (duty or "").strip() or DUTY_OF_ROLE.get(role, Duty.STAFF)
    if duty not in Duty.values:
        raise StaffInvalid(gettext_lazy("未知的职责：%(duty)s"), code="invalid_duty", duty=duty)
    return node, duty


def _set_phone(user, phone: str):
    user.phone_enc = crypto.encrypt(phone) if phone else ""
    user.phone_hash = crypto.blind_index(phone) if phone else ""
    user.phone_masked = crypto.mask_phone(phone) if phone else ""


def _snap(user) -> dict:
    from gridgov.core import history

    return history.snapshot(user, STAFF_FIELDS)


def _grid_path(user) -> str:
    path = (GridAssignment.objects.in_force().filter(user=user).order_by("id")
            .values_list("node__path", flat=True).first())
    return community_prefix(path) if path else ""


def staff_history(user):
    """The history rows of a staff account, newest first."""
    from gridgov.core import history

    return history.for_object("staff", user.pk)


@transaction.atomic
def create_staff(actor, *, username, display_name, role, password="", department="", phone="",
                 grid=None, duty=None, since=None) -> tuple[User, str]:
    """A new staff account (see the rules above). Without a password a temporary one is made.
    Returns (user, the password to hand over once). Raises StaffError."""
    from . import policy
    from gridgov.core import history

    if not policy.allows(actor, "staff", "create"):
        raise StaffNotAllowed(gettext_lazy("无权新增工作人员"), code="forbidden")
    username = clean_username(username)
    display_name = clean_display_name(display_name)
    role = clean_role(actor, role)
    department = clean_department(department)
    phone = clean_phone(phone)
    node, duty = clean_duty_place(actor, grid, duty, role)
    user = User(username=username, display_name=display_name, role=role, department=department,
                must_change_password=True)
    if password:
        check_password_rules(password, user)
    else:
        password = temporary_password()
    _set_phone(user, phone)
    user.set_password(password)
    user.save()
    changes = {k: [None, v] for k, v in _snap(user).items()}
    if node is not None:
        GridAssignment.objects.create(user=user, node=node, duty=duty, since=since or timezone.localdate())
        changes["duty"] = [None, f"{Duty(duty).label} @ {node.name} ({node.code})"]
    history.record(actor, "staff", user, "create", changes, grid_path=community_prefix(node.path) if node else "")
    return user, password


@transaction.atomic
def update_staff(actor, target, *, display_name=None, role=None, department=None, phone=None) -> dict:
    """Change a staff account's name, role, department or phone (None: unchanged). Returns the
    diff ({field: [old, new]}); one history row when anything changed."""
    from gridgov.core import history

    target = User.objects.select_for_update().get(pk=target.pk)
    _require_manage(actor, target)
    old = _snap(target)
    if display_name is not None:
        target.display_name = clean_display_name(display_name)
    if role is not None and role != target.role:
        target.role = clean_role(actor, role, "update")
    if department is not None:
        target.department = clean_department(department)
    if phone is not None:
        phone = clean_phone(phone)
        if crypto.blind_index(phone) != target.phone_hash:
            _set_phone(target, phone)
    changes = history.diff(old, _snap(target))
    if changes:
        target.save()
        history.record(actor, "staff", target, "update", changes, grid_path=_grid_path(target))
    return changes


@transaction.atomic
def set_staff_active(actor, target, active: bool, note: str = "") -> bool:
    """Disable (sign-in refused, sessions end) or enable an account. Returns whether it changed."""
    from gridgov.core import history

    target = User.objects.select_for_update().get(pk=target.pk)
    _require_manage(actor, target)
    if target.is_active == active:
        return False
    old = _snap(target)
    target.is_active = active
    target.save(update_fields=["is_active"])
    history.record(actor, "staff", target, "enable" if active else "disable", history.diff(old, _snap(target)),
                   grid_path=_grid_path(target), note=note)
    return True


@transaction.atomic
def reset_staff_password(actor, target) -> str:
    """A new temporary password for `target` (returned, to hand over once); their next sign-in
    must change it, and their sessions end (the password changed)."""
    from gridgov.core import history

    target = User.objects.select_for_update().get(pk=target.pk)
    _require_manage(actor, target)
    password = temporary_password()
    old = _snap(target)
    target.set_password(password)
    target.must_change_password = True
    target.save(update_fields=["password", "must_change_password"])
    history.record(actor, "staff", target, "reset_password", history.diff(old, _snap(target)),
                   grid_path=_grid_path(target))
    return password


@transaction.atomic
def change_own_password(user, new_password: str) -> None:
    """The user sets their own password (the old one was checked by the caller's form): the
    password rules apply, and a pending "must change" is done."""
    from gridgov.core import history

    check_password_rules(new_password, user)
    old = _snap(user)
    user.set_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    history.record(user, "staff", user, "change_password", history.diff(old, _snap(user)), grid_path=_grid_path(user))
