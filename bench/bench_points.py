"""Volunteers' points: redemptions under contention on one popular reward, and `points verify`.

* THREADS volunteers redeem the same reward at once until N items are gone (each redemption: a
  conditional UPDATE of the stock, a redemption row, a transfer with two movements and two
  balance UPDATEs, one transaction). Baseline in the same run: the same threads doing N plain
  single-row inserts (one transaction each), the floor any write pays on this database.
  Meaningful on PostgreSQL (`DATABASE_URL=postgres://…/scratch python -m bench points`); on
  SQLite the writers queue on the database's one write lock.
* `points verify` on a generated ledger the size of a year of the whole street (1,902 volunteers,
  ~50 awards each, a few redemptions): ~100,000 transfers, ~200,000 movements. Baseline: reading
  the same movements once without summing (values_list in the same chunks).
* `points expire` (services.expire_points) on that ledger, as on a day when every account's
  points are past the policy (each of the 1,902 accounts loses its balance: one transfer each,
  recomputed under the account's lock). Baseline in the same run: booking one plain transfer
  per account with services.post (the floor of one transfer per account). The dry run (what
  `gridgov points expire --dry-run` computes: one grouped sum over the movements) is printed
  beside it."""

import random
import threading

from bench.common import report, timed

THREADS = 8
N = 400
VOLUNTEERS = 1_902
AWARDS_EACH = 50


def _setup_shop():
    from gridgov.accounts.models import Role, User
    from gridgov.geo.models import GridNode
    from gridgov.registry.models import Place
    from gridgov.testing import make_small_street
    from gridgov.volunteers import services

    if not GridNode.objects.exists():
        make_small_street()
    grid = GridNode.objects.filter(level=2).order_by("path").first()
    admin, _ = User.objects.get_or_create(username="bench_admin", defaults={"role": Role.ADMIN})
    st_user, _ = User.objects.get_or_create(username="bench_station")
    place = Place.objects.create(name="热门驿站", kind="service_station", grid=grid, lat=39.787, lon=116.383)
    station = services.station_account(place, user=st_user)
    reward = services.add_reward(admin, station, "热门奖品", price=1, stock=N)
    vols = []
    for i in range(THREADS):
        u, _ = User.objects.get_or_create(username=f"bench_vol{i}", defaults={"role": Role.VOLUNTEER})
        services.correct(admin, services.volunteer_account(u), N, "bench", key=f"bench:seed:{u.pk}:{reward.pk}")
        vols.append(u)
    return reward, vols


def _in_threads(work):
    from django.db import connections

    errors = []

    def run(i):
        try:
            work(i)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _redemptions():
    from django.db import connection

    from gridgov.core.models import ChangeRecord
    from gridgov.volunteers import services
    from gridgov.volunteers.models import Reward

    reward, vols = _setup_shop()
    won = [0] * THREADS

    def redeem(i):
        while True:
            try:
                services.redeem(vols[i], reward.pk)
                won[i] += 1
            except services.OutOfStock:
                return

    secs, _ = timed(_in_threads, redeem)
    assert sum(won) == N and Reward.objects.get(pk=reward.pk).stock == 0, (won,)

    def insert(i):
        from django.utils import timezone

        for k in range(N // THREADS):
            ChangeRecord.objects.create(at=timezone.now(), kind="bench", object_id=str(k), action="insert")

    base, _ = timed(_in_threads, insert)
    report(f"points: redeem, {THREADS} threads, one reward ({connection.vendor})", N / secs, "redeems/s",
           "plain single-row insert, same threads", N / base)


def _generated_ledger():
    """A year of the whole street's points, written in bulk (consistent: every transfer sums to
    zero and every balance is its movements' sum)."""
    from django.utils import timezone

    from gridgov.accounts.models import Role, User
    from gridgov.volunteers import services
    from gridgov.volunteers.models import Account, Movement, Transfer

    rnd = random.Random(5)
    issuer = services.issuing_account(None)
    station = Account.objects.filter(kind="station").first()
    users = User.objects.bulk_create([User(username=f"bench_v{i}", role=Role.VOLUNTEER) for i in range(VOLUNTEERS)], batch_size=2000)
    accounts = Account.objects.bulk_create([Account(kind="volunteer", user=u, name=u.username) for u in users], batch_size=2000)
    now = timezone.now()
    transfers, legs = [], []
    for a in accounts:
        held = 0
        for k in range(AWARDS_EACH):
            n = rnd.choice([5, 10, 10, 20])
            transfers.append(Transfer(kind="award", key=f"bench:{a.pk}:{k}", rule="grab", amount=n, at=now))
            legs.append(((issuer, -n), (a, n)))
            held += n
        for k in range(3):
            n = rnd.choice([20, 50])
            if held >= n:
                transfers.append(Transfer(kind="redeem", key=f"bench:r:{a.pk}:{k}", amount=n, at=now))
                legs.append(((a, -n), (station, n)))
                held -= n
    Transfer.objects.bulk_create(transfers, batch_size=5000)
    moves, delta = [], {}
    for t, pair in zip(transfers, legs):
        for acc, n in pair:
            moves.append(Movement(transfer=t, account=acc, amount=n, at=now))
            delta[acc.pk] = delta.get(acc.pk, 0) + n
    Movement.objects.bulk_create(moves, batch_size=5000)
    from django.db.models import F

    for pk, n in delta.items():
        Account.objects.filter(pk=pk).update(balance=F("balance") + n)
    return len(transfers), len(moves)


def _verify():
    from gridgov.volunteers.models import Movement
    from gridgov.volunteers.services import verify_ledger

    transfers, moves = _generated_ledger()

    def scan(chunk=5000):
        last, n = 0, 0
        while True:
            rows = list(Movement.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "account_id", "transfer_id", "amount")[:chunk])
            if not rows:
                return n
            n += len(rows)
            last = rows[-1][0]

    secs, result = timed(verify_ledger)
    assert not result["bad_accounts"] and not result["bad_transfers"], result
    base, _ = timed(scan)
    report(f"points verify ({result['transfers']:,} transfers, {result['movements']:,} mov.)", result["movements"] / secs,
           "movements/s", "read the movements only", result["movements"] / base)
    print(f"    points verify took {secs:.2f}s for {transfers:,} generated transfers", flush=True)


def _expire():
    import datetime

    from django.utils import timezone

    from gridgov.volunteers import services
    from gridgov.volunteers.models import Account

    accounts = list(Account.objects.filter(kind="volunteer", balance__gt=0, user__username__startswith="bench_v").order_by("pk"))
    issuer = services.issuing_account(None)

    def plain():
        for a in accounts:
            services.post("correct", f"bench:plain:{a.pk}", [(issuer, -1), (a, 1)])

    base, _ = timed(plain)
    months = 24
    later = timezone.localtime() + datetime.timedelta(days=31 * (months + 2))
    dry_secs, dry = timed(services.expire_points, later.date(), months=months, dry_run=True)
    secs, result = timed(services.expire_points, later.date(), months=months)
    n = len(result["accounts"])
    assert n >= len(accounts) and result["total"] == dry["total"], (n, len(accounts))
    check = services.verify_ledger()
    assert not check["bad_accounts"] and not check["bad_transfers"], check
    report(f"points expire ({n:,} accounts expire)", n / secs, "accounts/s", "one plain transfer per account", len(accounts) / base)
    print(f"    points expire took {secs:.2f}s ({result['total']:,} points); the dry run {dry_secs:.2f}s", flush=True)


def run():
    _redemptions()
    _verify()
    _expire()
