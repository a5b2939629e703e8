"""Background work (huey): exports of base data (registry.exporters), and the sweep deleting
expired export files."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_task()
def export_task(job_id: str):
    """Run one export job; a retried or duplicated task does nothing (the job is claimed with a
    compare-and-set on its state)."""
    from . import exporters

    job = exporters.run_job(job_id)
    return job.state if job is not None else None


@db_periodic_task(crontab(minute="*/15"))
def purge_exports():
    from . import exporters

    return exporters.purge()
