"""Background work (huey): the dashboards' rollups follow the cases and tickets every minute."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="*"))
def refresh_rollups_every_minute():
    from . import rollup

    return rollup.refresh()


@db_periodic_task(crontab(minute="*"))
def refresh_topic_rollups_every_minute():
    """Recompute the stale topic rows (a street's month: a second or two each), at most 50 s."""
    from . import rollup

    return len(rollup.refresh_topics(budget_seconds=50))
