"""Background work (huey) of the property alliance: the ledger's clock."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="*/10"))
def ledger_clock():
    """Every ten minutes: open problems past their deadline rise a level (services.escalate_late:
    compare-and-set updates, so a rerun or a second worker changes nothing)."""
    from . import services

    return {"escalated": services.escalate_late()}


@db_periodic_task(crontab(month="1,4,7,10", day="5", hour="6", minute="30"))
def publish_scores(now=None):
    """On the 5th of a quarter's first month: publish the previous quarter's scores (the ranking
    as announced, scores.publish by the system) unless someone published it already."""
    from . import scores

    quarter = scores.last_finished_quarter(now)
    if scores.is_published(quarter):
        return {"quarter": quarter, "published": 0}
    return {"quarter": quarter, "published": len(scores.publish(None, quarter, now=now))}
