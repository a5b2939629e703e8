"""Background work (huey): classify tickets imported without a category; open the cases of a
big import's new tickets."""

from huey.contrib.djhuey import db_task


@db_task()
def classify_pending_task():
    from . import services

    return services.classify_pending()


@db_task()
def open_cases_task(ticket_ids: list[str], user_id: int | None = None, classify_first: bool = False):
    """Cases of new tickets (idempotent by each ticket's key); classified first when the import
    left that to the worker too, so the case item can follow the category."""
    from gridgov.accounts.models import User

    from . import services

    if classify_first:
        services.classify_pending()
    user = User.objects.filter(pk=user_id).first() if user_id else None
    return services.open_cases(ticket_ids, entered_by=user)
