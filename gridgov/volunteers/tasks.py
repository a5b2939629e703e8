"""Background work (huey): expire the volunteers' points once a month."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(day="1", hour="3", minute="10"))
def expire_points_monthly():
    """On the 1st at 03:10 by the queue's clock (huey's crontab is UTC: 11:10 in Beijing, still
    the 1st there): the points past VOLUNTEERS_POINTS_EXPIRE_MONTHS expire (services.expire_points,
    the month of the local date; a rerun books nothing twice)."""
    from . import services

    result = services.expire_points()
    return {"accounts": len(result["accounts"]), "total": result["total"]}
