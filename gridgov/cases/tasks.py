"""Background work (huey): the SLA sweep every minute, and outbox delivery after commit."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_periodic_task(crontab(minute="*"))
def sla_sweep_every_minute():
    from . import notify, services

    result = services.sweep()
    notify.deliver()  # retries of notifications that failed before
    return result


@db_task()
def deliver_notifications(ids):
    from . import notify

    return notify.deliver(ids)
