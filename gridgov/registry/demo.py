"""A few record histories in the demo street: corrections made on the pages (a phone, an
ethnicity, a place's opening hours), a resident who moved out, one who died, a demolished house.
Made through the services the pages call (registry.services.save_record / end_record), by the
grid workers of the records' grids, so the history rows are what the pages would have written."""

from datetime import date

#: the demo's "today" (gridgov.demo.builder.AS_OF) less a few weeks: when the records ended
ENDED_ON = (date(2024, 5, 20), date(2024, 6, 3), date(2024, 6, 17))


def _worker(node):
    """The grid worker (else leader) serving `node` or a grid above it."""
    from gridgov.accounts.models import Duty, GridAssignment

    codes = [c for c in node.path.strip("/").split("/") if c]
    for duty in (Duty.WORKER, Duty.LEADER):
        a = (GridAssignment.objects.filter(node__code__in=codes, duty=duty).select_related("user")
             .order_by("-node__level", "user__username").first())
        if a is not None:
            return a.user
    return None


def _try(fn, *args, **kw):
    from django.core.exceptions import PermissionDenied
    from django.db import transaction

    from .importers import RowInvalid
    from .services import Conflict

    try:
        with transaction.atomic():
            return fn(*args, **kw)
    except (RowInvalid, PermissionDenied, Conflict):
        return None  # a demo record that breaks the import's rules: the next one is tried


def build_record_histories(seed: int = 2024) -> int:
    """Edits, a move-out, a death and a demolished house; returns the number of history rows."""
    import random

    from gridgov.core.models import ChangeRecord

    from . import services
    from .models import House, Place, Resident

    K = services.RECORD_KINDS
    # history rows of an earlier demo's records would name the rebuilt records' ids
    ChangeRecord.objects.filter(kind__in=[k.name for k in K.values()]).delete()
    rng = random.Random(seed * 31 + 7)
    before = ChangeRecord.objects.count()
    residents = list(Resident.objects.filter(grid__isnull=False, house__isnull=False).select_related("grid")
                     .order_by("id")[:60])
    rng.shuffle(residents)
    plan = [
        ("update", {"phone": "13911{:06d}"}),
        ("update", {"ethnicity": "回族", "relation": "户主"}),
        ("end", ("moved_out", ENDED_ON[0])),
        ("end", ("died", ENDED_ON[1])),
    ]
    for what, arg in plan:
        while residents:
            r = residents.pop()
            actor = _worker(r.grid)
            if actor is None:
                continue
            r = Resident.objects.select_related("grid").get(pk=r.pk)
            if what == "update":
                values = {k: (v.format(rng.randint(0, 999999)) if "{" in v else v) for k, v in arg.items()}
                done = _try(services.save_record, actor, K["residents"], values, obj=r, version=r.version)
            else:
                done = _try(services.end_record, actor, K["residents"], r, arg[0], arg[1])
            if done is not None:
                break
    for h in House.objects.filter(grid__isnull=False, residents__isnull=True).select_related("grid").order_by("id")[:20]:
        actor = _worker(h.grid)
        if actor is not None and _try(services.end_record, actor, K["houses"], h, "demolished", ENDED_ON[2],
                                      note="棚户区改造拆除"):
            break
    for p in Place.objects.filter(grid__isnull=False).select_related("grid").order_by("id")[:20]:
        actor = _worker(p.grid)
        if actor is not None and _try(services.save_record, actor, K["places"], {"open_hours": "8:30-18:00"}, obj=p,
                                      version=p.version):
            break
    return ChangeRecord.objects.count() - before
