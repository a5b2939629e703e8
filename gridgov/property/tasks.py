"""Background work (huey) of the property alliance: the ledger's clock."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="*/10"))
def ledger_clock():
    """Every ten minutes: open problems past their deadline rise a level (services.escalate_late:
    compare-and-set updates, so a rerun or a second worker changes nothing)."""
    from . import services

    return {"escalated": services.escalate_late()}
