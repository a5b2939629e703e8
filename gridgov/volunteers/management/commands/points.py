"""`gridgov points verify`: recompute every balance from the movements and every transfer's sum.
`gridgov points expire [--as-of YYYY-MM-DD] [--dry-run]`: expire the points older than the
policy (VOLUNTEERS_POINTS_EXPIRE_MONTHS), first in, first out.

verify exits 0 with the counts when the ledger balances; exit 1 listing the accounts whose cached
balance differs from their movements and the transfers whose movements do not sum to zero.
expire prints each account and the points it loses, then the total (the same run again books
nothing: one transfer per account and cutoff); --dry-run books nothing."""

import datetime

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Points ledger tools: verify (recompute balances and transfer sums; exit 1 when anything is off); "
            "expire [--as-of YYYY-MM-DD] [--dry-run] (expire points past VOLUNTEERS_POINTS_EXPIRE_MONTHS)")

    def add_arguments(self, parser):
        parser.add_argument("subcommand", choices=["verify", "expire"])
        parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
        parser.add_argument("--as-of", help="expire: run as on this day (YYYY-MM-DD; default today)")
        parser.add_argument("--dry-run", action="store_true", help="expire: print what would expire, book nothing")

    def handle(self, *args, subcommand, quiet=False, as_of=None, dry_run=False, **opts):
        if subcommand == "expire":
            return self.expire(as_of, dry_run, quiet)
        return self.verify(quiet)

    def _progress(self, quiet, what, threshold):
        err = self.stderr
        state = {"shown": -1}

        def progress(done, total):
            pct = int(done * 100 / total) if total else 100
            if quiet or total < threshold or pct // 10 == state["shown"]:
                return
            state["shown"] = pct // 10
            err.write(f"{what} {done:,}/{total:,} ({pct}%)")

        return progress

    def expire(self, as_of, dry_run, quiet):
        from gridgov.volunteers.services import expire_points

        day = None
        if as_of:
            try:
                day = datetime.date.fromisoformat(as_of)
            except ValueError:
                raise CommandError(f"--as-of: not a date (YYYY-MM-DD): {as_of!r}") from None
        result = expire_points(day, dry_run=dry_run, progress=self._progress(quiet, "accounts", 500))
        if not result["months"]:
            self.stdout.write("points never expire (VOLUNTEERS_POINTS_EXPIRE_MONTHS = 0): nothing to do")
            return
        cutoff = result["cutoff"].date()
        verb = "would expire" if dry_run else "expired"
        for pk, name, amount in result["accounts"]:
            self.stdout.write(f"account {pk} {name}: {amount} {verb}")
        self.stdout.write(f"{'dry run: ' if dry_run else ''}{result['total']:,} points {verb} on "
                          f"{result['expires_at'].date()} from {len(result['accounts']):,} account(s) "
                          f"(received before {cutoff}, {result['months']} months after the end of their month)")

    def verify(self, quiet):
        from gridgov.volunteers.services import verify_ledger

        result = verify_ledger(progress=self._progress(quiet, "movements", 20000))
        counts = f"{result['accounts']:,} accounts, {result['transfers']:,} transfers, {result['movements']:,} movements"
        if not result["bad_accounts"] and not result["bad_transfers"]:
            self.stdout.write(f"ledger ok: {counts}")
            return
        for a in result["bad_accounts"]:
            self.stdout.write(f"account {a['id']} {a['name']}: balance {a['balance']} but movements sum to {a['movements']}")
        for t in result["bad_transfers"]:
            self.stdout.write(f"transfer {t['id']} {t['key']}: movements sum to {t['sum']} over {t['legs']} legs")
        raise CommandError(
            f"ledger NOT balanced: {len(result['bad_accounts'])} account(s) and {len(result['bad_transfers'])} "
            f"transfer(s) differ ({counts})", returncode=1)
