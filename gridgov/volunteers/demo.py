"""A year of points on the demo street, booked through the services (so the ledger balances):
the service stations' accounts, their users (station01, ...) and rewards; awards for the demo
volunteers' verified grabbed tasks and valid reports (the stewards' weekly patrols are real
patrols booked by demo_teams, before this runs); and redemptions at the stations, most used, a few
cancelled, the latest still waiting."""

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

#: (name, price, stock) offered by every station
REWARDS = [("矿泉水一箱", 20, 40), ("毛巾香皂礼包", 50, 20), ("理发券", 80, 15), ("米面油礼包", 150, 8)]
STATION_PASSWORD_USER = "station{:02d}"


def build_demo_points(seed: int = 2024, progress=None, now=None, *, password_hash: str = "!",
                      email_domain: str = "demo.gridgov.invalid") -> dict:
    """`password_hash`: the stations' users' (the demo passes its users' one; "!" = no login);
    `email_domain` marks them as demo users (removed by `gridgov demo --reset`)."""
    from gridgov.accounts.models import Role, User
    from gridgov.cases.models import Case, CaseEvent
    from gridgov.registry.models import Place

    from . import services
    from .models import Account, Redemption, Reward, Transfer

    rng = random.Random(seed + 11)
    now = now or timezone.now()
    start = now - timedelta(days=365)
    services.seed_rules()
    with transaction.atomic():
        # stations: an account, a user who accepts the codes, the rewards
        stations = list(Place.objects.filter(kind="service_station").order_by("id"))
        pw = password_hash
        accounts = []
        for i, place in enumerate(stations, 1):
            u, _ = User.objects.get_or_create(
                username=STATION_PASSWORD_USER.format(i),
                defaults={"role": Role.RESIDENT, "display_name": f"{place.name}值守", "password": pw,
                          "email": f"station{i:02d}@{email_domain}"},
            )
            acc = services.station_account(place, user=u)
            if not acc.rewards.exists():
                Reward.objects.bulk_create([Reward(account=acc, name=n, price=p, stock=s) for n, p, s in REWARDS])
            accounts.append(acc)
        # awards: verified grabbed tasks, valid reports by volunteers (as the live hook does)
        verified = dict(CaseEvent.objects.filter(action="verify").values_list("case_id", "at"))
        # in a stable order (by name: a rebuild gives new ids), so the same seed spends the same way
        vols = {u.pk: u for u in User.objects.filter(role__in=[Role.VOLUNTEER, Role.STEWARD]).order_by("username")}
        cases = Case.objects.filter(pk__in=list(verified)).filter(grabbed_by__in=list(vols)) | \
            Case.objects.filter(pk__in=list(verified)).filter(reporter__in=list(vols))
        n_awards = 0
        for case in cases.select_related("grid", "reporter", "grabbed_by", "verified_by").order_by("id"):
            case.updated_at = verified[case.pk]
            before = Transfer.objects.count()
            services.award_for_case(case)
            n_awards += Transfer.objects.count() - before
        if progress:
            progress(f"points: {n_awards} awards")
        # redemptions: now and then a volunteer spends what they hold at a station
        n_red = 0
        rewards = list(Reward.objects.filter(account__in=accounts).select_related("account"))
        for u in vols.values():
            acc = services.volunteer_account(u, create=False)
            if acc is None or not rewards:
                continue
            day = start + timedelta(days=30 + rng.randrange(30))
            while day < now:
                acc.refresh_from_db()
                affordable = [r for r in rewards if r.price <= acc.balance * 0.8]
                if affordable and rng.random() < 0.7:
                    r = rng.choice(affordable)
                    try:
                        red, code = services.redeem(u, r.pk, now=day)
                    except services.PointsError:
                        red = None
                    if red is not None:
                        n_red += 1
                        roll = rng.random()
                        if day < now - timedelta(days=10) and roll < 0.85:
                            services.verify_code(r.account.user, code, now=day + timedelta(hours=rng.randrange(2, 72)))
                        elif roll < 0.95:
                            services.cancel(u, red.pk, now=day + timedelta(days=1))
                day += timedelta(days=rng.randrange(20, 45))
        if progress:
            progress(f"points: {n_red} redemptions at {len(accounts)} stations")
    return {"point_accounts": Account.objects.count(), "point_transfers": Transfer.objects.count(),
            "redemptions": Redemption.objects.count()}
