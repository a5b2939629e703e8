"""Background work (huey): expire the volunteers' points once a month."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(day="1", hour="3", minute="10"))
def expire_points_monthly():
    """On the 1st at 03:10 (local time): the points past VOLUNTEERS_POINTS_EXPIRE_MONTHS expire
    (services.expire_points; a rerun or a missed month catches up without booking twice)."""
    from . import services

    result = services.expire_points()
    return {"accounts": len(result["accounts"]), "total": result["total"]}
