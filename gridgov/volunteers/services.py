"""Every change of the points ledger, the award rules and the rewards.

`post(...)` is the one function that writes movements: the legs must sum to zero, the transfer's
key is unique (a replayed source returns the transfer already booked), and every balance is
moved by a conditional UPDATE (`balance = balance + n WHERE balance >= -n` for a volunteer) in
the same transaction, accounts in id order so that two transfers never wait on each other in
opposite orders. A redemption books its rows, then moves the balances (accounts by id), then
takes one item (UPDATE ... WHERE stock > 0): the one order every writer follows is
redemption row → accounts by id → reward, and the busy rows (a station's account, a popular
reward) are locked only from their UPDATE to the commit."""

import datetime
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.geo import levels as gl
from gridgov.accounts import policy
from gridgov.accounts.querysets import within_reach
from gridgov.core import history
from gridgov.core.errors import CodedError

from .models import Account, Movement, PointRule, Redemption, Reward, ServiceRecord, Transfer


class PointsError(CodedError):
    status = 400
    code = "invalid"


class InsufficientPoints(PointsError):
    code = "insufficient_points"


class OutOfStock(PointsError):
    status = 409
    code = "out_of_stock"


class CodeInvalid(PointsError):
    code = "bad_code"


class Conflict(PointsError):
    status = 409
    code = "conflict"


class NotAllowed(PointsError):
    status = 403
    code = "not_allowed"


#: the default rules (seeded by the migration; administrators change them)
DEFAULT_RULES = [
    # key, name, unit, points, daily cap, monthly cap
    ("grab", "志愿任务（抢单）核查通过", "each", 10, 30, 200),
    ("report", "上报有效事件", "each", 5, 15, 100),
    ("activity:patrol", "平安巡逻（每小时）", "hour", 10, 40, 400),
    ("activity:environment", "环境整治（每小时）", "hour", 10, 40, 400),
    ("activity:elderly_care", "为老服务（每小时）", "hour", 12, 48, 480),
    ("activity:other", "其他志愿活动（每小时）", "hour", 8, 32, 320),
    # not in the migration: seed_rules() and wishes.confirm make it when missing
    ("wish", "微心愿圆梦", "each", 10, 20, 100),
]

RULE_FIELDS = ["name", "unit", "points", "daily_cap", "monthly_cap", "active"]
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
CODE_LENGTH = 10


# --- accounts ---------------------------------------------------------------------------------


def person_name(user) -> str:
    """How a user is named on the volunteers' pages and records: their display name, else their
    username ("" for nobody)."""
    return (getattr(user, "display_name", "") or getattr(user, "username", "")) if user else ""


_name = person_name


def volunteer_account(user, create: bool = True) -> Account | None:
    """The user's points account (made on first use). A user linked to a registry volunteer
    (registry.Volunteer.user) whose account was opened before they had a login (a steward
    entered by the community, awarded or corrected by the staff) adopts that account: its
    balance and statement become theirs."""
    acc = Account.objects.filter(kind=Account.Kind.VOLUNTEER, user=user).first()
    if acc:
        return acc
    adopted = _adopt(user)
    if adopted or not create:
        return adopted
    from gridgov.registry.models import Volunteer

    reg = Volunteer.objects.filter(user=user).values_list("pk", "grid").first()
    fields = dict(kind=Account.Kind.VOLUNTEER, user=user, name=_name(user))
    if reg and not Account.objects.filter(kind=Account.Kind.VOLUNTEER, volunteer_id=reg[0]).exists():
        fields.update(volunteer_id=reg[0], node_id=reg[1])
    elif reg:
        fields.update(node_id=reg[1])
    try:
        with transaction.atomic():
            return Account.objects.create(**fields)
    except IntegrityError:  # made meanwhile by another request
        acc = Account.objects.filter(kind=Account.Kind.VOLUNTEER, user=user).first() or _adopt(user)
        if acc is None:  # (the registry volunteer's account was opened meanwhile: adopt it)
            raise
        return acc


def _adopt(user) -> Account | None:
    """Give `user` the account of their registry volunteer that nobody has signed in to yet."""
    acc = Account.objects.filter(kind=Account.Kind.VOLUNTEER, volunteer__user=user, user__isnull=True).first()
    if acc is None:
        return None
    try:
        with transaction.atomic():
            n = Account.objects.filter(pk=acc.pk, user__isnull=True).update(user=user)
    except IntegrityError:  # the user got an account of their own meanwhile
        return Account.objects.filter(kind=Account.Kind.VOLUNTEER, user=user).first()
    if n != 1:  # adopted meanwhile (by this user, or the link moved)
        return Account.objects.filter(kind=Account.Kind.VOLUNTEER, user=user).first()
    acc.user = user
    return acc


def registry_volunteer_account(volunteer, create: bool = True) -> Account | None:
    """The points account of a registry volunteer (registry.Volunteer), made on first use with
    their grid: a steward without a login earns points too. Once linked to a user, it is the
    user's account (volunteer_account adopts it; see link_accounts)."""
    if volunteer.user_id:
        acc = volunteer_account(volunteer.user, create=create)
        if acc is not None:
            link_accounts(acc)
        return acc
    acc = Account.objects.filter(kind=Account.Kind.VOLUNTEER, volunteer=volunteer).first()
    if acc or not create:
        return acc
    try:
        with transaction.atomic():
            return Account.objects.create(kind=Account.Kind.VOLUNTEER, volunteer=volunteer, node_id=volunteer.grid_id,
                                          name=volunteer.name[:150])
    except IntegrityError:
        return Account.objects.get(kind=Account.Kind.VOLUNTEER, volunteer=volunteer)


def link_accounts(acc: Account) -> Account:
    """A user's account `acc` and the account of their registry volunteer, when both exist (the
    user earned points before the community linked them to a registry volunteer who had some):
    the registry account's points move into `acc` (one transfer, kind correct) and `acc` becomes
    the registry volunteer's account; the emptied account stays, with its statement."""
    if acc.user_id is None or acc.kind != Account.Kind.VOLUNTEER:
        return acc
    if acc.volunteer_id and not Account.objects.filter(kind=Account.Kind.VOLUNTEER, volunteer__user_id=acc.user_id,
                                                       user__isnull=True).exists():
        return acc
    from gridgov.registry.models import Volunteer

    reg = Volunteer.objects.filter(user_id=acc.user_id).first()
    if reg is None:
        return acc
    with transaction.atomic():
        other = Account.objects.filter(kind=Account.Kind.VOLUNTEER, volunteer=reg, user__isnull=True).exclude(pk=acc.pk).first()
        if other is not None:
            locked = {a.pk: a for a in Account.objects.select_for_update().filter(pk__in=[acc.pk, other.pk]).order_by("pk")}
            other, acc_locked = locked[other.pk], locked[acc.pk]
            if other.balance > 0:
                post(Transfer.Kind.CORRECT, f"merge:{other.pk}:{acc.pk}:{secrets.token_hex(4)}",
                     [(other, -other.balance), (acc_locked, other.balance)],
                     reason=f"合并登记志愿者账户 #{other.pk}")
            Account.objects.filter(pk=other.pk).update(volunteer=None)
        if acc.volunteer_id is None and not Account.objects.filter(kind=Account.Kind.VOLUNTEER, volunteer=reg).exists():
            Account.objects.filter(pk=acc.pk).update(volunteer=reg, node_id=acc.node_id or reg.grid_id)
            acc.volunteer = reg
        acc.refresh_from_db()
    return acc


def holder_account(holder, create: bool = True) -> Account | None:
    """The volunteer account of a user or of a registry volunteer."""
    from gridgov.registry.models import Volunteer

    if isinstance(holder, Volunteer):
        return registry_volunteer_account(holder, create=create)
    return volunteer_account(holder, create=create)


def _community(node):
    """The community (level 1) above or at `node`, else the top of its chain."""
    from gridgov.geo.models import GridNode

    if node is None:
        return GridNode.objects.filter(level=gl.community_level()).order_by("path").first() or GridNode.objects.order_by("level", "path").first()
    k = gl.community_level()
    if node.level <= k:
        return node
    codes = gl.codes_of(node.path)
    return GridNode.objects.filter(code=codes[k]).first() if len(codes) > k else node


def issuing_account(node) -> Account:
    """The issuing account of the community of `node` (made on first use)."""
    community = _community(node)
    acc = Account.objects.filter(kind=Account.Kind.ISSUING, node=community).first()
    if acc:
        return acc
    try:
        with transaction.atomic():
            return Account.objects.create(kind=Account.Kind.ISSUING, node=community,
                                          name=f"{community.name if community else ''}积分发放")
    except IntegrityError:
        return Account.objects.get(kind=Account.Kind.ISSUING, node=community)


def station_account(place=None, *, name: str = "", user=None, node=None) -> Account:
    """The account of a service station (a registry Place of kind service_station) or, without a
    place, of a merchant. `user` is the person who verifies its codes on the station's page."""
    if place is not None:
        acc = Account.objects.filter(kind=Account.Kind.STATION, place=place).first()
        if acc:
            if user is not None and acc.user_id != user.pk:
                acc.user = user
                acc.save(update_fields=["user"])
            return acc
        return Account.objects.create(kind=Account.Kind.STATION, place=place, node=place.grid, user=user, name=name or place.name)
    return Account.objects.create(kind=Account.Kind.STATION, node=node, user=user, name=name)


#: PostgreSQL advisory lock key under which the one sink account is made
_SINK_LOCK = 0x67726964_73696E6B & 0x7FFFFFFFFFFFFFFF


def sink_account() -> Account:
    """The one account expired points go to (made on first use; two expiry runs starting at
    once make one: the schema has no unique key for it, so its creation takes an advisory lock
    on PostgreSQL — SQLite has one writer anyway)."""
    acc = Account.objects.filter(kind=Account.Kind.SINK).order_by("pk").first()
    if acc:
        return acc
    from django.db import connection

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [_SINK_LOCK])
        acc = Account.objects.filter(kind=Account.Kind.SINK).order_by("pk").first()
        return acc or Account.objects.create(kind=Account.Kind.SINK, name="过期积分回收")


# --- the ledger -------------------------------------------------------------------------------


def post(kind: str, key: str, legs, *, actor=None, reason: str = "", rule: str = "", at=None,
         new_key: bool = False) -> tuple[Transfer, bool]:
    """Book one transfer: `legs` is [(account, signed amount), ...] summing to zero. Returns
    (transfer, created); a key already booked returns that transfer (nothing moves twice).
    A volunteer's balance that would go below zero raises InsufficientPoints (nothing booked).
    `new_key`: the caller made the key from a row it just inserted (a redemption), so it cannot
    exist yet: no look-up and no savepoint (fewer round trips while the hot rows are locked)."""
    legs = [(a, int(n)) for a, n in legs if int(n) != 0]
    if len(legs) < 2 or sum(n for _, n in legs) != 0:
        raise PointsError(f"a transfer's legs must be two or more and sum to zero: {[(a.pk, n) for a, n in legs]}")
    if len({a.pk for a, _ in legs}) != len(legs):
        raise PointsError("one leg per account")
    if not new_key:
        existing = Transfer.objects.filter(key=key).first()
        if existing:
            return existing, False
    at = at or timezone.now()
    fields = dict(kind=kind, key=key, rule=rule, amount=sum(n for _, n in legs if n > 0), reason=reason[:200],
                  actor=actor if getattr(actor, "pk", None) else None, actor_name=_name(actor), at=at)
    # a failure below undoes the whole transfer (with new_key, the caller's atomic block does)
    with transaction.atomic(savepoint=not new_key):
        if new_key:
            t = Transfer.objects.create(**fields)
        else:
            try:
                with transaction.atomic():
                    t = Transfer.objects.create(**fields)
            except IntegrityError:  # the same source booked meanwhile
                return Transfer.objects.get(key=key), False
        # the rows first, the balances last: a busy account (a station's) stays locked only from
        # its UPDATE to the commit
        Movement.objects.bulk_create([Movement(transfer=t, account=a, amount=n, at=at) for a, n in legs])
        for acc, n in sorted(legs, key=lambda leg: leg[0].pk):  # one lock order for every writer
            q = Account.objects.filter(pk=acc.pk)
            if n < 0:
                q = q.filter(~Q(kind=Account.Kind.VOLUNTEER) | Q(balance__gte=-n))
            if q.update(balance=F("balance") + n) != 1:
                raise InsufficientPoints(_("积分不足"))
            acc.balance += n
    return t, True


def verify_ledger(progress=None, chunk: int = 5000) -> dict:
    """Recompute every balance from the movements and every transfer's sum. Returns
    {"accounts": n, "transfers": n, "movements": n, "bad_accounts": [...], "bad_transfers": [...]}."""
    sums: dict[int, int] = {}
    by_transfer: dict[int, int] = {}
    legs: dict[int, int] = {}
    total = Movement.objects.count()
    done = 0
    last = 0
    while True:
        rows = list(Movement.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "account_id", "transfer_id", "amount")[:chunk])
        if not rows:
            break
        for pk, acc, tr, n in rows:
            sums[acc] = sums.get(acc, 0) + n
            by_transfer[tr] = by_transfer.get(tr, 0) + n
            legs[tr] = legs.get(tr, 0) + 1
        last = rows[-1][0]
        done += len(rows)
        if progress:
            progress(done, total)
    bad_accounts = []
    n_accounts = 0
    for pk, name, balance in Account.objects.order_by("pk").values_list("pk", "name", "balance").iterator(chunk_size=chunk):
        n_accounts += 1
        if balance != sums.get(pk, 0):
            bad_accounts.append({"id": pk, "name": name, "balance": balance, "movements": sums.get(pk, 0)})
    bad_transfers = []
    n_transfers = 0
    for pk, key in Transfer.objects.order_by("pk").values_list("pk", "key").iterator(chunk_size=chunk):
        n_transfers += 1
        if by_transfer.get(pk, 0) != 0 or legs.get(pk, 0) < 2:
            bad_transfers.append({"id": pk, "key": key, "sum": by_transfer.get(pk, 0), "legs": legs.get(pk, 0)})
    return {"accounts": n_accounts, "transfers": n_transfers, "movements": total,
            "bad_accounts": bad_accounts, "bad_transfers": bad_transfers}


# --- award rules ------------------------------------------------------------------------------


def seed_rules():
    for key, name, unit, points, day, month in DEFAULT_RULES:
        PointRule.objects.get_or_create(key=key, defaults=dict(name=name, unit=unit, points=points, daily_cap=day, monthly_cap=month))


def may_manage_rules(user) -> bool:
    return policy.allows(user, "points", "update")


@transaction.atomic
def update_rule(actor, key: str, version: int | None = None, **changes) -> PointRule:
    """An administrator changes an award rule (points, caps, active, ...): one history row."""
    policy.require(actor, "points", "update")
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise PointsError(f"unknown fields: {', '.join(sorted(unknown))}")
    rule = PointRule.objects.select_for_update().filter(key=key).first()
    created = rule is None
    if created:
        rule = PointRule(key=key, name=changes.get("name") or key, points=0)
    elif version is not None and version != rule.version:
        raise PointsError(_("规则已被他人修改，请刷新后重试"))
    before = history.snapshot(rule, RULE_FIELDS) if not created else {}
    for k, v in changes.items():
        setattr(rule, k, v)
    if rule.unit not in PointRule.Unit.values:
        raise PointsError(f"unit: {rule.unit!r}")
    for f in ("points", "daily_cap", "monthly_cap"):
        if int(getattr(rule, f)) < 0:
            raise PointsError(f"{f}: must be >= 0")
    rule.version = (rule.version or 0) + (0 if created else 1)
    rule.save()
    history.record(actor, "points_rules", rule, "create" if created else "update",
                   history.diff(before, history.snapshot(rule, RULE_FIELDS)))
    return rule


def _awarded(account, rule_key, since) -> int:
    return Movement.objects.filter(account=account, amount__gt=0, transfer__kind=Transfer.Kind.AWARD,
                                   transfer__rule=rule_key, at__gte=since).aggregate(s=Sum("amount"))["s"] or 0


def award(volunteer, source_key: str, kind: str, quantity=1, actor=None, *, at=None, node=None, reason: str = "",
          rate: int | None = None):
    """Award `volunteer` (a user, or a registry volunteer without a login) the points of rule `kind` for `quantity` units (hours or 1),
    once per `source_key`, within the rule's caps per day and month. `rate`: points per unit
    instead of the rule's (an activity's own points per hour; the rule's caps still apply).
    Returns the transfer (None when the rule is missing or inactive, or the caps leave nothing)."""
    key = f"award:{source_key}"
    existing = Transfer.objects.filter(key=key).first()
    if existing:
        return existing
    rule = PointRule.objects.filter(key=kind, active=True).first()
    if rule is None:
        return None
    at = at or timezone.now()
    points = int(round((rule.points if rate is None else int(rate)) * float(quantity)))
    with transaction.atomic():
        vacc = holder_account(volunteer)
        issuer = issuing_account(node or vacc.node)
        # one award at a time per volunteer: the caps are read and booked under these locks,
        # taken in id order like every writer's (post)
        list(Account.objects.select_for_update().filter(pk__in=[issuer.pk, vacc.pk]).order_by("pk"))
        local = timezone.localtime(at)
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if rule.daily_cap:
            points = min(points, rule.daily_cap - _awarded(vacc, rule.key, day))
        if rule.monthly_cap:
            points = min(points, rule.monthly_cap - _awarded(vacc, rule.key, day.replace(day=1)))
        if points <= 0:
            return None
        t, _created = post(Transfer.Kind.AWARD, key, [(issuer, -points), (vacc, points)], actor=actor,
                           reason=reason or rule.name, rule=rule.key, at=at)
        return t


def record_service(user, source: str, key: str, title: str, *, hours=0, at=None, node=None, team=None,
                   rule: str = "", quantity=1, rate: int | None = None, actor=None) -> ServiceRecord:
    """One piece of service from any door (ServiceRecord.Source), once per `key`
    ("activity:<signup>", "case:<id>:grab", "case:<id>:report", "wish:<id>", "patrol:<id>"),
    with the points of award rule `rule` for `quantity` units (at `rate` per unit if given),
    booked under the same key. A replayed source returns the record already kept: nothing is
    counted twice, neither hours nor points."""
    existing = ServiceRecord.objects.filter(key=key).first()
    if existing:
        return existing
    at = at or timezone.now()
    with transaction.atomic():
        transfer = award(user, key, rule, quantity, actor, at=at, node=node, reason=title, rate=rate) if rule else None
        try:
            with transaction.atomic():
                return ServiceRecord.objects.create(user=user, source=source, key=key, title=title[:150], hours=hours,
                                                    at=at, node=node, team=team, transfer=transfer)
        except IntegrityError:  # the same source kept meanwhile (its award too: same key)
            return ServiceRecord.objects.get(key=key)


def award_for_case(case):
    """The service a verified case counts, with its points: the volunteer who grabbed it (its
    task done), and a volunteer or steward who reported it (the report was valid)."""
    from gridgov.accounts.models import Role

    at = case.updated_at or timezone.now()
    if case.grabbed_by_id:
        record_service(case.grabbed_by, ServiceRecord.Source.GRAB, f"case:{case.pk}:grab", f"志愿任务 {case.number}",
                       at=at, node=case.grid, rule="grab", actor=case.verified_by)
    reporter = case.reporter
    if reporter is not None and reporter.role in (Role.VOLUNTEER, Role.STEWARD) and reporter.pk != case.grabbed_by_id:
        record_service(reporter, ServiceRecord.Source.REPORT, f"case:{case.pk}:report", f"上报有效事件 {case.number}",
                       at=at, node=case.grid, rule="report", actor=case.verified_by)


@transaction.atomic
def correct(actor, account: Account, amount: int, reason: str, key: str | None = None) -> Transfer:
    """An administrator corrects a volunteer's points (with a reason) against the issuing account
    of the volunteer's community: `amount` > 0 adds, < 0 takes away (never below zero). The
    volunteer is told (a notification, when they have a login)."""
    policy.require(actor, "points", "update")
    reason = (reason or "").strip()
    if not reason:
        raise PointsError(_("请填写更正原因"))
    amount = int(amount)
    if amount == 0:
        raise PointsError(_("更正的积分不能为 0"))
    if account.kind != Account.Kind.VOLUNTEER:
        raise PointsError(_("只能更正志愿者的积分"))
    issuer = issuing_account(account.node)
    t, created = post(Transfer.Kind.CORRECT, key or f"correct:{secrets.token_hex(8)}",
                      [(issuer, -amount), (account, amount)], actor=actor, reason=reason)
    if created and account.user_id:
        from gridgov.cases import notify

        title = (_("积分更正：+%(n)s") if amount > 0 else _("积分更正：%(n)s")) % {"n": amount}
        notify.queue(account.user, "points_corrected", title, reason)
    return t


# --- expiry -----------------------------------------------------------------------------------


def _month_start(year: int, month: int):
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return timezone.make_aware(datetime.datetime(year, month, 1))


def expiry_dates(as_of=None, months: int | None = None):
    """(expires_at, cutoff) for a run on `as_of` (a date or datetime; now by default): points
    received before `cutoff` expire at `expires_at`, the start of as_of's month; cutoff is
    `months` (VOLUNTEERS_POINTS_EXPIRE_MONTHS) months before it — points expire that many months
    after the end of the month they were received in. None when points never expire (0)."""
    from .conf import get_int

    months = get_int("VOLUNTEERS_POINTS_EXPIRE_MONTHS") if months is None else int(months)
    if months <= 0:
        return None
    as_of = as_of or timezone.now()
    if isinstance(as_of, datetime.datetime):
        as_of = timezone.localtime(as_of) if timezone.is_aware(as_of) else as_of
    return _month_start(as_of.year, as_of.month), _month_start(as_of.year, as_of.month - months)


def _received_since(cutoff, account_ids=None) -> dict[int, int]:
    q = Movement.objects.filter(amount__gt=0, at__gte=cutoff, account__kind=Account.Kind.VOLUNTEER)
    if account_ids is not None:
        q = q.filter(account_id__in=account_ids)
    return dict(q.values("account_id").annotate(s=Sum("amount")).values_list("account_id", "s"))


def expiring(account: Account | None, as_of=None, months: int | None = None) -> tuple[int, object]:
    """What of `account`'s balance expires at the next expiry after `as_of` (first in, first out:
    points spent are the oldest): (points, the day they expire). (0, None) when nothing does."""
    if account is None or account.balance <= 0:
        return 0, None
    now = timezone.localtime(as_of or timezone.now())
    nxt = _month_start(now.year, now.month + 1)
    dates = expiry_dates(nxt, months)
    if dates is None:
        return 0, None
    expires_at, cutoff = dates
    amount = account.balance - _received_since(cutoff, [account.pk]).get(account.pk, 0)
    return (amount, expires_at.date()) if amount > 0 else (0, None)


def expiring_in(accounts, as_of=None, months: int | None = None) -> dict:
    """What expires at the next expiry date among the volunteer accounts of the queryset
    `accounts` (the staff's scope): {"points", "accounts", "on"} (on: None when nothing does)."""
    now = timezone.localtime(as_of or timezone.now())
    dates = expiry_dates(_month_start(now.year, now.month + 1), months)
    out = {"points": 0, "accounts": 0, "on": None}
    if dates is None:
        return out
    expires_at, cutoff = dates
    vols = accounts.filter(kind=Account.Kind.VOLUNTEER, balance__gt=0)
    received = dict(Movement.objects.filter(amount__gt=0, at__gte=cutoff, account__in=vols.values("pk"))
                    .values("account_id").annotate(s=Sum("amount")).values_list("account_id", "s"))
    for pk, balance in vols.values_list("pk", "balance").iterator(chunk_size=5000):
        n = balance - received.get(pk, 0)
        if n > 0:
            out["points"] += n
            out["accounts"] += 1
    if out["points"]:
        out["on"] = expires_at.date()
    return out


def expire_key(account_id: int, cutoff) -> str:
    return f"expire:{account_id}:{timezone.localtime(cutoff):%Y-%m}"


def expire_points(as_of=None, *, months: int | None = None, dry_run: bool = False, progress=None,
                  actor=None) -> dict:
    """Expire the points received before the cutoff of `as_of`'s month (expiry_dates), first in,
    first out: for each volunteer account, what expires is its balance minus the points it
    received since the cutoff (what was spent was the oldest), booked as one transfer
    volunteer → the sink account under the key expire:<account>:<cutoff's month> — a rerun (or a
    second worker) books nothing twice, and each account is recomputed under its lock.
    Returns {"months", "expires_at", "cutoff", "accounts": [(id, name, points)], "total", "dry_run"}."""
    from .conf import get_int

    months = get_int("VOLUNTEERS_POINTS_EXPIRE_MONTHS") if months is None else int(months)
    dates = expiry_dates(as_of, months)
    out = {"months": max(months, 0), "expires_at": None, "cutoff": None, "accounts": [], "total": 0, "dry_run": dry_run}
    if dates is None:
        return out
    expires_at, cutoff = dates
    out.update(expires_at=expires_at, cutoff=cutoff)
    received = _received_since(cutoff)
    ym = f"{timezone.localtime(cutoff):%Y-%m}"
    done_keys = set(Transfer.objects.filter(kind=Transfer.Kind.EXPIRE, key__endswith=f":{ym}").values_list("key", flat=True))
    candidates = [(pk, name, balance - received.get(pk, 0)) for pk, name, balance in
                  Account.objects.filter(kind=Account.Kind.VOLUNTEER, balance__gt=0).order_by("pk")
                  .values_list("pk", "name", "balance").iterator(chunk_size=5000)]
    candidates = [c for c in candidates if c[2] > 0 and expire_key(c[0], cutoff) not in done_keys]
    sink = None if dry_run else sink_account()
    last = timezone.localtime(cutoff) - datetime.timedelta(days=1)
    reason = f"{last:%Y-%m} 及以前获得的积分到期"
    names = {pk: name for pk, name, _amount in candidates}
    for start in range(0, len(candidates), EXPIRE_BATCH):
        batch = candidates[start:start + EXPIRE_BATCH]
        if dry_run:
            booked = [(pk, amount) for pk, _name, amount in batch]
        else:
            booked = _expire_batch([pk for pk, _name, _amount in batch], sink, cutoff, expires_at, reason, actor)
        for pk, amount in booked:
            out["accounts"].append((pk, names[pk], amount))
            out["total"] += amount
        if progress:
            progress(start + len(batch), len(candidates))
    return out


#: accounts expired per transaction (their rows stay locked for the batch: ~0.1 s)
EXPIRE_BATCH = 50


def _expire_batch(pks: list[int], sink: Account, cutoff, expires_at, reason: str, actor) -> list[tuple[int, int]]:
    """Expire the accounts `pks` in one transaction: their rows (and the sink's) locked in id
    order like every writer's, then each amount from the locked balance, each key once."""
    from gridgov.cases import notify

    booked = []
    with transaction.atomic():
        locked = {a.pk: a for a in Account.objects.select_for_update(of=("self",)).select_related("user")
                  .filter(pk__in=[*pks, sink.pk]).order_by("pk")}
        received = _received_since(cutoff, pks)
        keys = {pk: expire_key(pk, cutoff) for pk in pks}
        done = set(Transfer.objects.filter(key__in=keys.values()).values_list("key", flat=True))
        for pk in pks:
            acc = locked.get(pk)
            amount = acc.balance - received.get(pk, 0) if acc else 0
            if amount <= 0 or keys[pk] in done:
                continue
            # (the key cannot be booked meanwhile: its account is locked and it was not booked)
            post(Transfer.Kind.EXPIRE, keys[pk], [(acc, -amount), (locked[sink.pk], amount)],
                 actor=actor, reason=reason, at=expires_at, new_key=True)
            if acc.user_id:
                notify.queue(acc.user, "points_expired", _("%(n)s 积分已过期") % {"n": amount}, reason)
            booked.append((pk, amount))
    return booked


# --- rewards and redemptions ------------------------------------------------------------------


def _code_hash(code: str) -> str:
    msg = f"redeem:{code.strip().upper()}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), msg, hashlib.sha256).hexdigest()


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


REWARD_FIELDS = ["name", "description", "price", "stock", "active"]


def _reward_values(name, price, description) -> tuple[str, int, str]:
    name, description = (name or "").strip(), (description or "").strip()
    if not name:
        raise PointsError(_("请填写奖品名称"))
    if len(name) > 100 or len(description) > 200:
        raise PointsError(_("名称或说明太长"))
    try:
        price = int(price)
    except (TypeError, ValueError):
        raise PointsError(_("所需积分须为整数")) from None
    if price < 1:
        raise PointsError(_("所需积分至少为 1"))
    return name, price, description


def _path(account: Account) -> str:
    return account.node.path if account.node_id else ""


@transaction.atomic
def add_reward(actor, account: Account, name: str, price: int, stock: int, description: str = "") -> Reward:
    """An administrator adds a reward to a station's or merchant's catalogue (history kind
    points_rewards)."""
    policy.require(actor, "points", "update")
    if account.kind != Account.Kind.STATION:
        raise PointsError(_("奖品只能由驿站或商户提供"))
    name, price, description = _reward_values(name, price, description)
    if int(stock) < 0:
        raise PointsError(_("库存不能为负数"))
    r = Reward.objects.create(account=account, name=name, price=price, stock=int(stock), description=description)
    history.record(actor, "points_rewards", r, "create", {"name": [None, name], "price": [None, price], "stock": [None, int(stock)],
                                                          "account": [None, account.name]}, grid_path=_path(account))
    return r


def reward_version(reward) -> int:
    """A reward's version: how many changes its history keeps (its creation is the first). An
    edit names the version it was made from and is refused when the reward changed since."""
    from gridgov.core.models import ChangeRecord

    pk = reward.pk if hasattr(reward, "pk") else int(reward)
    return ChangeRecord.objects.filter(kind="points_rewards", object_id=str(pk)).count()


def reward_versions(rewards) -> dict[int, int]:
    from django.db.models import Count

    from gridgov.core.models import ChangeRecord

    ids = [str(r.pk) for r in rewards]
    rows = ChangeRecord.objects.filter(kind="points_rewards", object_id__in=ids).values("object_id").annotate(n=Count("id"))
    got = {int(r["object_id"]): r["n"] for r in rows}
    return {r.pk: got.get(r.pk, 0) for r in rewards}


@transaction.atomic
def update_reward(actor, reward_id: int, version: int | None = None, *, add_stock: int = 0, **changes) -> Reward:
    """An administrator changes a reward: name, description, price, active, and its stock by
    `add_stock` items (more delivered, or fewer: never below zero). The stock moves by a
    conditional UPDATE, so redemptions meanwhile are never lost; the other fields are a
    compare-and-set on `version` (reward_version). One history row (kind points_rewards)."""
    policy.require(actor, "points", "update")
    unknown = set(changes) - {"name", "description", "price", "active"}
    if unknown:
        raise PointsError(f"unknown fields: {', '.join(sorted(unknown))}")
    reward = Reward.objects.select_for_update(of=("self",)).select_related("account__node").filter(pk=reward_id).first()
    if reward is None:
        raise PointsError(_("没有这个兑换项目"))
    if version is not None and int(version) != reward_version(reward):
        raise Conflict(_("该奖品已被他人修改，请刷新后重试"))
    before = history.snapshot(reward, REWARD_FIELDS)
    name, price, description = _reward_values(changes.get("name", reward.name), changes.get("price", reward.price),
                                              changes.get("description", reward.description))
    reward.name, reward.price, reward.description = name, price, description
    if "active" in changes:
        reward.active = bool(changes["active"])
    reward.save(update_fields=["name", "price", "description", "active"])
    add_stock = int(add_stock or 0)
    if add_stock:
        if Reward.objects.filter(pk=reward.pk, stock__gte=-add_stock).update(stock=F("stock") + add_stock) != 1:
            raise PointsError(_("库存不足，不能减少这么多"))
    reward.refresh_from_db()
    changed = history.diff(before, history.snapshot(reward, REWARD_FIELDS))
    if changed:
        history.record(actor, "points_rewards", reward, "update", changed, grid_path=_path(reward.account))
    return reward


def _verifier(username: str | None):
    """The user who accepts a station's codes, by username (None: nobody yet)."""
    from django.contrib.auth import get_user_model

    username = (username or "").strip()
    if not username:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise PointsError(_("没有用户名为 %(name)s 的用户") % {"name": username})
    return user


@transaction.atomic
def add_merchant(actor, name: str, *, node=None, username: str = "") -> Account:
    """An administrator adds a merchant (a station account without a registry place) whose
    codes are accepted by the user `username` (history kind points_accounts)."""
    policy.require(actor, "points", "update")
    name = (name or "").strip()
    if not name or len(name) > 150:
        raise PointsError(_("请填写商户名称"))
    if Account.objects.filter(kind=Account.Kind.STATION, place__isnull=True, name=name).exists():
        raise Conflict(_("已有同名商户"))
    user = _verifier(username)
    acc = Account.objects.create(kind=Account.Kind.STATION, name=name, node=node, user=user)
    history.record(actor, "points_accounts", acc, "create",
                   {"name": [None, name], "user": [None, user.username if user else None],
                    "node": [None, node.name if node else None]}, grid_path=node.path if node else "")
    return acc


@transaction.atomic
def update_station(actor, account: Account, *, name: str | None = None, username: str | None = None) -> Account:
    """An administrator renames a merchant or changes who accepts a station's codes."""
    policy.require(actor, "points", "update")
    acc = Account.objects.select_for_update().filter(pk=account.pk, kind=Account.Kind.STATION).first()
    if acc is None:
        raise PointsError(_("只有驿站或商户账户可以这样修改"))
    before = {"name": acc.name, "user": acc.user.username if acc.user_id else None}
    if name is not None:
        name = name.strip()
        if not name or len(name) > 150:
            raise PointsError(_("请填写商户名称"))
        acc.name = name
    if username is not None:
        user = _verifier(username)
        acc.user = user
    acc.save(update_fields=["name", "user"])
    changed = history.diff(before, {"name": acc.name, "user": acc.user.username if acc.user_id else None})
    if changed:
        history.record(actor, "points_accounts", acc, "update", changed, grid_path=_path(acc))
    return acc


def redeem(user, reward_id: int, now=None) -> tuple[Redemption, str]:
    """The volunteer spends `reward.price` points on one item: stock and balance move together or
    not at all. Returns (redemption, code); the code is shown once (only its hash is kept)."""
    now = now or timezone.now()
    with transaction.atomic():
        reward = Reward.objects.select_related("account").filter(pk=reward_id, active=True).first()
        if reward is None:
            raise PointsError(_("没有这个兑换项目"))
        vacc = volunteer_account(user, create=False)
        if vacc is None or vacc.balance < reward.price:  # a quick refusal; the UPDATE below decides
            raise InsufficientPoints(_("积分不足"))
        if reward.stock <= 0:  # likewise
            raise OutOfStock(_("已兑完"))
        code = _new_code()
        red = Redemption.objects.create(account=vacc, reward=reward, points=reward.price, code_hash=_code_hash(code), created_at=now)
        # the accounts by id (post), then the reward's row: one order for every writer, and the
        # hot rows (the station's account, the reward) locked only for the last statements
        post(Transfer.Kind.REDEEM, f"redemption:{red.pk}", [(vacc, -reward.price), (reward.account, reward.price)],
             actor=user, reason=reward.name, at=now, new_key=True)
        if Reward.objects.filter(pk=reward.pk, stock__gt=0).update(stock=F("stock") - 1) != 1:
            raise OutOfStock(_("已兑完"))  # (rolls the redemption and the transfer back)
    return red, code


def verify_code(user, code: str, now=None) -> Redemption:
    """The station's user marks a code used, once. Only the station that offers the reward may."""
    now = now or timezone.now()
    red = Redemption.objects.select_related("reward__account").filter(code_hash=_code_hash(code or "")).first()
    if red is None:
        raise CodeInvalid(_("兑换码无效"))
    if red.reward.account.user_id != getattr(user, "pk", None):
        raise NotAllowed(_("只有提供该奖品的驿站可以核销"))
    with transaction.atomic():
        n = Redemption.objects.filter(pk=red.pk, state=Redemption.State.ISSUED).update(
            state=Redemption.State.USED, verified_by=user, verified_at=now)
        if n != 1:
            raise CodeInvalid(_("兑换码已使用或已取消"))  # (the row keeps who used it and when)
    red.refresh_from_db()
    return red


def cancel(user, redemption_id: int, now=None) -> Redemption:
    """The volunteer (or the station) cancels an unused redemption: the points come back (a
    refund transfer) and so does the item."""
    now = now or timezone.now()
    red = Redemption.objects.select_related("account", "reward__account").filter(pk=redemption_id).first()
    if red is None:
        raise PointsError(_("没有这条兑换记录"))
    if getattr(user, "pk", None) not in (red.account.user_id, red.reward.account.user_id):
        raise NotAllowed(_("只能取消自己的兑换"))
    with transaction.atomic():
        # the redemption's row (once), then the same order as redeem: accounts by id, the reward
        if Redemption.objects.filter(pk=red.pk, state=Redemption.State.ISSUED).update(
                state=Redemption.State.CANCELLED, cancelled_at=now) != 1:
            raise CodeInvalid(_("兑换码已使用或已取消"))
        post(Transfer.Kind.REFUND, f"refund:{red.pk}", [(red.reward.account, -red.points), (red.account, red.points)],
             actor=user, reason=red.reward.name, at=now)
        Reward.objects.filter(pk=red.reward_id).update(stock=F("stock") + 1)
    red.refresh_from_db()
    return red


# --- reading ----------------------------------------------------------------------------------


def statement(account: Account, limit: int = 50):
    return Movement.objects.filter(account=account).select_related("transfer").order_by("-at", "-id")[:limit]


def accounts_for(user):
    """The volunteer and issuing accounts `user` may list (points × list: own scope → the
    accounts on their grids; all → every one)."""
    return within_reach(Account.objects.select_related("node", "user"), user, "points", "list", "node__path")


def find_holders(user, q: str, limit: int = 20) -> dict:
    """Staff look a volunteer up by name or username: {"accounts": the points accounts in
    their scope, "registry": registry volunteers visible to them who have no account yet (an
    administrator may award or correct them: the account opens then)}."""
    q = (q or "").strip()
    if not q:
        return {"accounts": [], "registry": []}
    accounts = list(accounts_for(user).filter(kind__in=[Account.Kind.VOLUNTEER, Account.Kind.STATION]).filter(
        Q(name__icontains=q) | Q(user__username__icontains=q) | Q(user__display_name__icontains=q))
        .select_related("volunteer").order_by("kind", "name", "id")[:limit])
    registry = []
    if policy.allows(user, "points", "update"):
        from gridgov.registry.models import Volunteer

        has_account = Account.objects.filter(kind=Account.Kind.VOLUNTEER).filter(
            Q(volunteer__isnull=False) | Q(user__isnull=False))
        taken_v = has_account.filter(volunteer__isnull=False).values("volunteer_id")
        taken_u = has_account.filter(user__isnull=False).values("user_id")
        registry = list(Volunteer.objects.visible_to(user).filter(ended_on__isnull=True).filter(
            Q(name__icontains=q) | Q(user__username__icontains=q)).exclude(pk__in=taken_v)
            .exclude(user_id__in=taken_u).select_related("grid").order_by("name", "id")[:limit])
    return {"accounts": accounts, "registry": registry}


def account_for(user, account_id: int) -> Account | None:
    """One account `user` may see (points × list, in scope), or None."""
    return accounts_for(user).select_related("volunteer", "place").filter(pk=account_id).first()


def redemptions_of(account: Account, limit: int = 50):
    """A volunteer's redemptions, or those of a station's rewards."""
    q = Redemption.objects.select_related("reward__account", "account")
    q = q.filter(reward__account=account) if account.kind == Account.Kind.STATION else q.filter(account=account)
    return q.order_by("-created_at", "-id")[:limit]
