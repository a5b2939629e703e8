"""Background work (huey) of deliberation: the 专人办 clock every hour."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="20"))
def execution_clock_hourly():
    """Every hour at :20: a decision whose linked case, project or activity is done gets its
    `done_at` (execution.sync_all: a conditional UPDATE, so a rerun changes nothing), and the
    owners whose deadline is within 3 days or passed are reminded, once per local day per
    decision (execution.remind: the day's "remind" history row is the record)."""
    from . import execution

    return {"done": execution.sync_all(), "reminded": execution.remind()}
