"""Background work (huey): the SLA sweep every minute, outbox delivery and deferred intake after commit."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_periodic_task(crontab(minute="*"))
def sla_sweep_every_minute():
    from . import notify, services

    services.finish_pending_intake()  # deferred reports whose task was lost
    result = services.sweep()
    notify.deliver()  # retries of notifications that failed before
    return result


@db_task(retries=3, retry_delay=5)
def finish_intake_task():
    """Route the reports stored with deferred intake (services.finish_pending_intake; each once)."""
    from . import services

    return services.finish_pending_intake(older_than_seconds=0)


@db_task()
def deliver_notifications(ids):
    from . import notify

    return notify.deliver(ids)
