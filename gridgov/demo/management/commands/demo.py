"""`gridgov demo`: build the demo street (modelled on Nanyuan street, Fengtai, Beijing)."""

import json
import time

from django.core.management.base import BaseCommand, CommandError

from gridgov.demo import builder
from gridgov.demo.departments import build_property_cases, seed_property_items


class Command(BaseCommand):
    help = "Build the deterministic demo street: grids, base data (170,000+ records), users."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="do nothing when grid nodes already exist")
        parser.add_argument("--reset", action="store_true", help="wipe grids, base data and demo users first")
        parser.add_argument("--scale", type=float, default=1.0, help="share of the full street's population and compounds (e.g. 0.01 for tests)")
        parser.add_argument("--seed", type=int, default=2024, help="same seed, same street")
        parser.add_argument("--streets", type=int, default=1, metavar="N",
                            help="a district of N demo streets (default 1: the demo street alone, with no district above it)")
        parser.add_argument("--admin-password", default=builder.ADMIN_PASSWORD, help="password of the 'admin' user")
        parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
        parser.add_argument("--no-tickets", action="store_true", help="skip the two years of 12345 hotline tickets")
        parser.add_argument("--no-cases", action="store_true", help="skip the demo cases, the tickets' too (the taxonomy is still seeded)")

    def handle(self, *args, if_empty, reset, scale, seed, admin_password, quiet, no_tickets=False, no_cases=False, streets=1,
               **opts):
        from gridgov.geo.models import GridNode

        if not 0 < scale <= 5:
            raise CommandError(f"--scale must be in (0, 5], got {scale}")
        from gridgov.demo.district import MAX_STREETS

        if not 1 <= streets <= MAX_STREETS:
            raise CommandError(f"--streets must be in 1..{MAX_STREETS}, got {streets}")
        if GridNode.objects.exists():
            if if_empty:
                self.stdout.write("Grid nodes already exist: demo street not built (use --reset to rebuild).")
                from django.contrib.auth import get_user_model

                if get_user_model().objects.filter(username="admin", email__endswith="@demo.gridgov.invalid").exists():
                    self.stdout.write(
                        f"Log in as admin / {admin_password} (administrator) unless its password was changed; "
                        f"other demo users use {builder.DEMO_PASSWORD}."
                    )
                return
            if not reset:
                raise CommandError("The database already holds grid nodes. Use --reset to rebuild the demo, or --if-empty to skip.")
        t0 = time.perf_counter()
        progress = builder.Progress(quiet=quiet, stream=self.stderr._out)
        result = builder.build(seed=seed, scale=scale, reset=reset, progress=progress, admin_password=admin_password)
        counts = result["counts"]
        if streets > 1:  # the district above the demo street, and its other streets (before their years)
            from gridgov.demo.district import build_district

            counts.update(build_district(streets, seed, progress))
        if not no_tickets:
            counts["hotline_tickets"] = self._tickets(seed, scale * streets, progress)
        from gridgov.cases.taxonomy import seed_taxonomy

        seed_taxonomy()
        if not no_cases:
            seed_property_items()  # 物业 items (department 物业), before the cases are recognised
            # a year of cases from the other channels, and the hotline case of every ticket
            from gridgov.hotline.demo import build_demo_cases_with_tickets

            made = build_demo_cases_with_tickets(seed, months=12, scale=scale * streets, progress=progress)
            counts["cases"], counts["case_events"], counts["hotline_cases"] = made["cases"], made["events"], made["hotline_cases"]
            from gridgov.demo.duties import hand_over_demo_cases

            counts.update(build_property_cases(seed))  # 物业 items and a few reports in the property users' compounds
            counts["hand_overs"] = hand_over_demo_cases()  # the leavers' cases (duty histories)
        from gridgov.volunteers.demo import build_demo_points  # a year of volunteers' points (after the cases)
        from gridgov.volunteers.demo_life import build_demo_volunteer_life  # teams, activities, wishes, party life

        counts.update(build_demo_volunteer_life(seed, progress, password_hash=builder._password_hash(builder.DEMO_PASSWORD),
                                                email_domain=builder.DEMO_EMAIL_DOMAIN))
        from gridgov.deliberation.demo import build_demo_deliberation  # a year of topics (after the cases and volunteers)

        counts.update(build_demo_deliberation(seed, progress))
        from gridgov.property.demo import build_demo_property  # a year of the property alliance (after the cases)

        counts.update(build_demo_property(seed, progress))
        from gridgov.gridwork.demo import build_demo_gridwork  # a year of grid work (after the cases)

        counts.update(build_demo_gridwork(seed, progress, scale=scale))
        counts.update(build_demo_points(seed, progress, password_hash=builder._password_hash(builder.DEMO_PASSWORD),
                                        email_domain=builder.DEMO_EMAIL_DOMAIN))
        from gridgov.insight import rollup  # the dashboards' rollups of the year just written

        counts["rollup_rows"] = rollup.rebuild()
        progress(f"dashboard rollups: {counts['rollup_rows']:,} rows")
        counts["topic_rollups"] = rollup.rebuild_topics()  # the latest month's topics, per street
        progress(f"topic rollups: {counts['topic_rollups']} parts")
        secs = time.perf_counter() - t0
        self.stdout.write(json.dumps(counts, ensure_ascii=False))
        self.stdout.write(
            f"Demo street built in {secs:.1f}s: {counts['base_records']:,} base records, {result['users']['users']} users.\n"
            f"Log in as admin / {admin_password} (administrator); other demo users "
            f"(leader1, secretary01, gl001001, gw0010011, ...) use {builder.DEMO_PASSWORD}."
        )

    def _tickets(self, seed, scale, progress) -> int:
        """Two years of 12345 tickets placed in the demo's grids (texts from ../shared/data)."""
        from gridgov.hotline.demo import build_demo_tickets, messages_path

        if not messages_path().exists():
            self.stderr.write(f"hotline tickets skipped: {messages_path()} not found (see ../shared/data/README.md)")
            return 0
        return build_demo_tickets(seed, years=2, scale=scale, progress=lambda i, n, msg: progress(f"hotline tickets {i}/{n} {msg}"))
