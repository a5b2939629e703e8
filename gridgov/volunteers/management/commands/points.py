"""`gridgov points verify`: recompute every balance from the movements and every transfer's sum.

Exit 0 with the counts when the ledger balances; exit 1 listing the accounts whose cached
balance differs from their movements and the transfers whose movements do not sum to zero."""


from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Points ledger tools: verify (recompute balances and transfer sums; exit 1 when anything is off)"

    def add_arguments(self, parser):
        parser.add_argument("subcommand", choices=["verify"])
        parser.add_argument("--quiet", action="store_true", help="no progress on stderr")

    def handle(self, *args, subcommand, quiet=False, **opts):
        from gridgov.volunteers.services import verify_ledger

        err = self.stderr
        state = {"shown": -1}

        def progress(done, total):
            pct = int(done * 100 / total) if total else 100
            if quiet or total < 20000 or pct // 10 == state["shown"]:
                return
            state["shown"] = pct // 10
            err.write(f"movements {done:,}/{total:,} ({pct}%)")

        result = verify_ledger(progress=progress)
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


