"""Background work (huey): classify tickets imported without a category."""

from huey.contrib.djhuey import db_task


@db_task()
def classify_pending_task():
    from . import services

    return services.classify_pending()
