"""Duty histories of the demo street: over the demo year a few grid workers and a grid leader left
(retired, moved, resigned) and were replaced. Each leaver's duty ended on a day of the past year
(kept, with who ended it and why) and their successor — the person the builder made — took the
duty from the next day; each change has its history row (core.history), as accounts.duties writes
them. The leavers' logins are disabled. `hand_over_demo_cases` (after the demo cases exist) gives
the leavers the cases of their grids from before they left, and hands the ones still open on their
last day (and untouched since) to the successor, with a hand-over line in the case's history, as
end_duty would have."""

import random
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from gridgov.geo import levels as gl

#: (duty, why) of the people who left: three grid workers and a grid leader
LEAVERS = (("worker", "退休"), ("worker", "调往其他街道"), ("worker", "辞职"), ("leader", "调任社区工作"))
#: the builder's duties start here
FIRST_DAY = date(2022, 3, 1)


def build_duty_history(seed: int = 2024, progress=None) -> dict:
    """Add the leavers and their ended duties; the current holder's duty starts the day after."""
    from gridgov.accounts.models import Duty, GridAssignment, User
    from gridgov.core import history

    from .builder import DEMO_EMAIL_DOMAIN, People

    rng = random.Random(seed * 17 + 3)
    people = People(rng)
    admin = User.objects.filter(username="admin").first()
    today = timezone.localdate()
    made = []
    for i, (duty, why) in enumerate(LEAVERS):
        current = list(GridAssignment.objects.filter(duty=duty, node__level=gl.grid_level(), until__isnull=True, since=FIRST_DAY)
                       .select_related("user", "node").order_by("node__code", "id"))
        if not current:
            continue
        succ = current[(i * 37 + 11) % len(current)]
        last_day = today - timedelta(days=60 + i * 75 + rng.randrange(20))  # within the past year
        leaver = User(username=f"{succ.user.username}x", role=succ.user.role, is_active=False,
                      display_name=people.name(rng.choice("MF"), rng.randint(1962, 1992)),
                      email=f"{succ.user.username}x@{DEMO_EMAIL_DOMAIN}", password=succ.user.password)
        leaver.save()
        gone = GridAssignment.objects.create(user=leaver, node=succ.node, duty=duty, since=FIRST_DAY, until=last_day,
                                             ended_by=admin, end_note=why)
        GridAssignment.objects.filter(pk=succ.pk).update(since=last_day + timedelta(days=1))
        when = timezone.make_aware(datetime.combine(last_day + timedelta(days=1), time(9, 30)))
        started = timezone.make_aware(datetime.combine(FIRST_DAY, time(9, 0)))
        label = Duty(duty).label
        history.record(admin, "duties", gone, "create", {"user": [None, leaver.username], "node": [None, succ.node.code],
                       "duty": [None, duty], "since": [None, FIRST_DAY.isoformat()]}, grid_path=succ.node.path, at=started)
        history.record(admin, "duties", gone, "end", {"until": [None, last_day.isoformat()], "end_note": ["", why]},
                       grid_path=succ.node.path, note=why, at=when)
        history.record(admin, "duties", succ, "create", {"user": [None, succ.user.username], "node": [None, succ.node.code],
                       "duty": [None, duty], "since": [None, (last_day + timedelta(days=1)).isoformat()]},
                       grid_path=succ.node.path, note=f"接任 {leaver.display_name}（{label}）", at=when)
        made.append({"grid": succ.node.code, "duty": duty, "left": leaver.username, "successor": succ.user.username,
                     "last_day": last_day.isoformat()})
    if progress:
        progress(f"duty histories: {len(made)} people left and were replaced")
    return {"replaced": made}


def hand_over_demo_cases() -> int:
    """Once the demo cases exist: the leavers handled their grids' cases until their last day; a
    case still open then went to the successor with a hand-over line. Returns the lines written."""
    from gridgov.accounts.models import GridAssignment
    from gridgov.cases.models import OPEN_STATES, Case, CaseEvent

    from .builder import DEMO_EMAIL_DOMAIN

    written = 0
    ended = GridAssignment.objects.filter(until__isnull=False, user__email__endswith=f"@{DEMO_EMAIL_DOMAIN}",
                                          user__is_active=False).select_related("user", "node", "ended_by")
    for gone in ended:
        succ = (GridAssignment.objects.filter(node=gone.node, duty=gone.duty, since=gone.until + timedelta(days=1))
                .select_related("user").first())
        if succ is None:
            continue
        cut = timezone.make_aware(datetime.combine(gone.until + timedelta(days=1), time(0, 0)))
        before = Case.objects.filter(grid_path__startswith=gone.node.path, handler_user=succ.user, created_at__lt=cut)
        # open today and untouched since the last day: it was waiting with the leaver, and is handed on
        still_open = list(before.filter(updated_at__lt=cut, state__in=OPEN_STATES).order_by("id"))
        ids = list(before.values_list("pk", flat=True))
        Case.objects.filter(pk__in=ids).update(handler_user=gone.user)
        Case.objects.filter(pk__in=ids, resolved_by=succ.user, resolved_at__lt=cut).update(resolved_by=gone.user)
        CaseEvent.objects.filter(case_id__in=ids, actor=succ.user, at__lt=cut).update(
            actor=gone.user, actor_name=gone.user.display_name)
        events = []
        for case in still_open:
            Case.objects.filter(pk=case.pk).update(handler_user=succ.user)
            events.append(CaseEvent(
                case=case, at=cut + timedelta(hours=9, minutes=30), actor=gone.ended_by,
                actor_name=(gone.ended_by.display_name or gone.ended_by.username) if gone.ended_by else "系统",
                action="hand_over", from_state=case.state, to_state=case.state,
                note=f"{gone.user.display_name} 的{gone.get_duty_display()}职务于 {gone.until.isoformat()} 结束，事件移交",
                data={"from": {"id": gone.user.pk, "username": gone.user.username, "name": str(gone.user)},
                      "to": {"id": succ.user.pk, "username": succ.user.username, "name": str(succ.user)}, "via": "接任人"}))
        CaseEvent.objects.bulk_create(events)
        written += len(events)
    return written
