"""The teams' year on the demo street (part 1 of demo_life): logins for a share of the registry's
stewards and volunteers (vol0001, ...; all the stewards of a few buildings among them), a leader
for every team that has a member with a login, residents' applications to join in every state
(approved, rejected, withdrawn, pending), and the stewards' weekly patrols as real Patrol rows
whose service records and points go through services.record_service."""

import random
from datetime import timedelta

from django.db import transaction

#: the share of the registry's people who get a login
LOGIN_SHARE = 0.15
#: every steward of this many buildings gets a login (and patrols)
FULL_BUILDINGS = 3
#: at most this many stewards patrol weekly (the demo stays quick at full scale)
MAX_PATROLLERS = 10


def _track(rng, lat, lon, n):
    pts = []
    for _ in range(n):
        lat += rng.uniform(-0.0004, 0.0004)
        lon += rng.uniform(-0.0005, 0.0005)
        pts.append([round(lat, 6), round(lon, 6)])
    return pts


def build(rng: random.Random, start, now, progress, *, password_hash: str, email_domain: str) -> dict:
    from gridgov.accounts.models import Role, User
    from gridgov.core import history
    from gridgov.registry.models import Resident, Volunteer, VolunteerTeam

    from . import services, teams
    from .models import Patrol, TeamApplication

    services.seed_rules()
    with transaction.atomic():
        # -- logins for a share of the registry's people
        free = list(Volunteer.objects.filter(user__isnull=True, ended_on__isnull=True, team__isnull=False)
                    .select_related("building").order_by("id"))
        chosen = {}
        buildings = sorted({v.building_id for v in free if v.kind == "steward" and v.building_id})[:FULL_BUILDINGS]
        for v in free:
            if v.building_id in buildings:
                chosen[v.pk] = v
        want = max(len(chosen), round(len(free) * LOGIN_SHARE))
        rest = [v for v in free if v.pk not in chosen]
        rng.shuffle(rest)
        for v in rest[: max(0, want - len(chosen))]:
            chosen[v.pk] = v
        # every team with members has someone with a login (to lead it)
        manned = set(Volunteer.objects.filter(user__isnull=False, team__isnull=False).values_list("team_id", flat=True))
        manned |= {v.team_id for v in chosen.values()}
        for v in rest:
            if v.team_id not in manned:
                chosen[v.pk] = v
                manned.add(v.team_id)
        taken = set(User.objects.filter(username__startswith="vol").values_list("username", flat=True))
        users, pairs, i = [], [], 0
        for v in sorted(chosen.values(), key=lambda x: x.pk):
            i += 1
            while f"vol{i:04d}" in taken:
                i += 1
            u = User(username=f"vol{i:04d}", role=Role.STEWARD if v.kind == "steward" else Role.VOLUNTEER,
                     display_name=v.name, password=password_hash, email=f"vol{i:04d}@{email_domain}",
                     phone_enc=v.phone_enc, phone_hash=v.phone_hash, phone_masked=v.phone_masked)
            users.append(u)
            pairs.append((u, v))
        User.objects.bulk_create(users, batch_size=500)
        for u, v in pairs:
            v.user = u
        Volunteer.objects.bulk_update([v for _, v in pairs], ["user"], batch_size=500)

        # -- a leader for every team with a member who has a login (the longest-serving one)
        admin = User.objects.filter(is_superuser=True, is_active=True).order_by("id").first()
        first = {}
        for v in (Volunteer.objects.filter(user__isnull=False, team__isnull=False, ended_on__isnull=True)
                  .select_related("user").order_by("joined", "id")):
            first.setdefault(v.team_id, v.user)
        n_leaders = 0
        team_list = list(VolunteerTeam.objects.filter(ended_on__isnull=True).select_related("grid", "leader").order_by("id"))
        for t in team_list:
            u = first.get(t.pk)
            if u is None or t.leader_id:
                continue
            at = start + timedelta(days=rng.randrange(0, 20))
            if admin is not None:
                teams.set_leader(admin, t, u, now=at)
            else:
                t.leader = u
                t.save(update_fields=["leader"])
                history.record(None, teams._kind(t), t, "update", {"leader": [None, str(u)]}, grid_path=t.grid.path, at=at)
            t.leader = u
            n_leaders += 1
        if progress:
            progress(f"teams: {len(users)} volunteer logins, {n_leaders} team leaders")

        # -- residents asking to join, in every state
        led = [t for t in team_list if t.leader_id]
        n_apps = 0
        if led:
            n_applicants = max(8, round(len(team_list) * 1.5))
            used = set(Volunteer.objects.filter(resident__isnull=False).values_list("resident_id", flat=True))
            residents = [r for r in Resident.objects.filter(ended_on__isnull=True).order_by("id")[: n_applicants * 3]
                         if r.pk not in used][:n_applicants]
            taken = set(User.objects.filter(username__startswith="applicant").values_list("username", flat=True))
            applicants = []
            k = 0
            for r in residents:
                k += 1
                while f"applicant{k:03d}" in taken:
                    k += 1
                applicants.append(User(username=f"applicant{k:03d}", role=Role.RESIDENT, display_name=r.name,
                                       password=password_hash, email=f"applicant{k:03d}@{email_domain}",
                                       phone_enc=r.phone_enc, phone_hash=r.phone_hash, phone_masked=r.phone_masked))
            User.objects.bulk_create(applicants)
            span = max(1, (now - start).days - 3)
            notes = ["想参加平安巡逻", "退休了，有时间帮忙", "会修理小家电", "可以教孩子写字", ""]
            reasons = ["本队人员已满，请申请其他队伍", "请先参加一次社区活动", "不在本队服务范围"]
            for j, u in enumerate(applicants):
                team = rng.choice(led)
                roll = j % 6
                at = now - timedelta(days=rng.randrange(0, 10)) if roll == 5 else start + timedelta(days=rng.randrange(span))
                app = teams.apply(u, team, u.display_name, rng.choice(notes), now=at)
                n_apps += 1
                later = at + timedelta(hours=rng.randrange(2, 72))
                if roll in (0, 1, 2):
                    teams.decide(team.leader, app.pk, True, now=later)
                elif roll == 3:
                    teams.decide(team.leader, app.pk, False, rng.choice(reasons), now=later)
                elif roll == 4:
                    teams.withdraw(u, app.pk, now=later)
        if progress:
            progress(f"teams: {n_apps} applications to join")

        # -- the stewards' weekly patrols: Patrol rows, then their service records and points
        stewards = list(Volunteer.objects.filter(kind="steward", user__isnull=False, ended_on__isnull=True)
                        .select_related("user", "building", "grid", "team").order_by("id"))
        full = [v for v in stewards if v.building_id in buildings]
        others = [v for v in stewards if v.building_id not in buildings]
        rng.shuffle(others)
        patrollers = (full + others)[:max(MAX_PATROLLERS, len(full))]
        rows = []
        for v in patrollers:
            node = v.building.grid if v.building_id and v.building.grid_id else v.grid
            b = v.building
            lat = (b.lat if b and b.lat else None) or (node.center_lat if node else None) or 39.79
            lon = (b.lon if b and b.lon else None) or (node.center_lon if node else None) or 116.39
            day = start + timedelta(days=rng.randrange(7))
            while day < now - timedelta(hours=6):
                if rng.random() < 0.8:
                    began = day.replace(hour=rng.choice([8, 9, 15, 19]), minute=rng.choice([0, 10, 30]), second=0, microsecond=0)
                    ended = began + timedelta(minutes=rng.choice([45, 60, 90, 120, 150]))
                    if ended < now:
                        pts = _track(rng, lat, lon, rng.randrange(6, 14))
                        step = (ended - began) / (len(pts) - 1)
                        track = [[a, o, (began + step * n).isoformat()] for n, (a, o) in enumerate(pts)]
                        rows.append(Patrol(user=v.user, node=node, started_at=began, ended_at=ended, track=track,
                                           distance_m=teams.track_distance_m(track), note="例行巡查"))
                day += timedelta(days=7)
        Patrol.objects.bulk_create(rows, batch_size=1000)
        by_user = {v.user_id: v for v in patrollers}
        for p in sorted(rows, key=lambda p: p.ended_at):
            v = by_user[p.user_id]
            hours = teams.patrol_hours(p.started_at, teams.counted_end(p))
            services.record_service(v.user, "patrol", f"patrol:{p.pk}", "楼门巡查", hours=hours, at=p.ended_at, node=p.node,
                                    team=v.team, rule="activity:patrol", quantity=hours)
        # one steward is out on patrol right now
        if patrollers:
            v = patrollers[0]
            if not Patrol.objects.filter(user=v.user, ended_at__isnull=True).exists():
                p = teams.start_patrol(v.user, "例行巡查", now=now - timedelta(minutes=20))
                teams.add_track(v.user, p.pk, _track(rng, 39.79, 116.39, 3) if not rows else [r[:2] for r in rows[0].track[:3]],
                                now=now - timedelta(minutes=10))
        if progress:
            progress(f"teams: {len(rows)} steward patrols by {len(patrollers)} stewards")
    return {"volunteer_logins": len(users), "team_leaders": n_leaders, "team_applications": TeamApplication.objects.count(),
            "patrols": Patrol.objects.count()}
