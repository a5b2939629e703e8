"""Every change of the points ledger, the award rules and the rewards.

`post(...)` is the one function that writes movements: the legs must sum to zero, the transfer's
key is unique (a replayed source returns the transfer already booked), and every balance is
moved by a conditional UPDATE (`balance = balance + n WHERE balance >= -n` for a volunteer) in
the same transaction, accounts in id order so that two transfers never wait on each other in
opposite orders. A redemption books its rows, then moves the balances (accounts by id), then
takes one item (UPDATE ... WHERE stock > 0): the one order every writer follows is
redemption row → accounts by id → reward, and the busy rows (a station's account, a popular
reward) are locked only from their UPDATE to the commit."""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts import policy
from gridgov.core import history

from .models import Account, Movement, PointRule, Redemption, Reward, ServiceRecord, Transfer


class PointsError(Exception):
    status = 400
    code = "invalid"


class InsufficientPoints(PointsError):
    code = "insufficient_points"


class OutOfStock(PointsError):
    status = 409
    code = "out_of_stock"


class CodeInvalid(PointsError):
    code = "bad_code"


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


def _name(user) -> str:
    return (getattr(user, "display_name", "") or getattr(user, "username", "")) if user else ""


def volunteer_account(user, create: bool = True) -> Account | None:
    """The user's points account (made on first use)."""
    acc = Account.objects.filter(kind=Account.Kind.VOLUNTEER, user=user).first()
    if acc or not create:
        return acc
    from gridgov.registry.models import Volunteer

    node = Volunteer.objects.filter(user=user).values_list("grid", flat=True).first()
    try:
        with transaction.atomic():
            return Account.objects.create(kind=Account.Kind.VOLUNTEER, user=user, node_id=node, name=_name(user))
    except IntegrityError:  # made meanwhile by another request
        return Account.objects.get(kind=Account.Kind.VOLUNTEER, user=user)


def _community(node):
    """The community (level 1) above or at `node`, else the top of its chain."""
    from gridgov.geo.models import GridNode

    if node is None:
        return GridNode.objects.filter(level=1).order_by("path").first() or GridNode.objects.order_by("level", "path").first()
    if node.level <= 1:
        return node
    codes = [c for c in node.path.strip("/").split("/") if c]
    return GridNode.objects.filter(code=codes[1]).first() if len(codes) > 1 else node


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


def sink_account() -> Account:
    acc = Account.objects.filter(kind=Account.Kind.SINK).first()
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
    """Award `volunteer` (a user) the points of rule `kind` for `quantity` units (hours or 1),
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
        vacc = volunteer_account(volunteer)
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
    """An administrator corrects a volunteer's points (with a reason) against the issuing account."""
    policy.require(actor, "points", "update")
    if not reason.strip():
        raise PointsError(_("请填写更正原因"))
    issuer = issuing_account(account.node)
    t, _c = post(Transfer.Kind.CORRECT, key or f"correct:{secrets.token_hex(8)}", [(issuer, -amount), (account, amount)],
                 actor=actor, reason=reason)
    return t


# --- rewards and redemptions ------------------------------------------------------------------


def _code_hash(code: str) -> str:
    msg = f"redeem:{code.strip().upper()}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), msg, hashlib.sha256).hexdigest()


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@transaction.atomic
def add_reward(actor, account: Account, name: str, price: int, stock: int, description: str = "") -> Reward:
    policy.require(actor, "points", "update")
    if account.kind != Account.Kind.STATION:
        raise PointsError("rewards are offered by a station or merchant account")
    r = Reward.objects.create(account=account, name=name, price=price, stock=stock, description=description)
    history.record(actor, "points_rewards", r, "create", {"name": [None, name], "price": [None, price], "stock": [None, stock]})
    return r


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
    from gridgov.accounts.scope import scope_of

    reach = policy.reach(user, "points", "list")
    qs = Account.objects.select_related("node", "user")
    if reach == policy.NEVER:
        return qs.none()
    if reach == policy.ALL:
        return qs
    scope = scope_of(user)
    if scope.everything:
        return qs
    q = Q(pk__in=[])
    for p in scope.paths:
        q |= Q(node__path__startswith=p)
    return qs.filter(q)
