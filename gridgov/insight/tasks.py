"""Background work (huey): the dashboards' rollups follow the cases every minute."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="*"))
def refresh_rollups_every_minute():
    from . import rollup

    return rollup.refresh()
