"""Reads for dashboards and reports from a read replica, when one is configured.

`DATABASE_REPLICA_URL` adds the `replica` database (settings.py). Only the code that runs under
`replica_reads()` (or a view decorated `@reads_from_replica`: the dashboard's figures and topics,
their export, the 12345 monthly report) reads from it: those pages may lag the primary by the
replication delay, which leaders' figures tolerate, while every other read, and every write,
stays on `default`, so a user always reads what they just wrote. Without a replica nothing
changes. Migrations run on `default` only."""

import contextvars
from contextlib import contextmanager
from functools import wraps

from django.conf import settings

REPLICA = "replica"
_reads = contextvars.ContextVar("gridgov_replica_reads", default=False)


def has_replica() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads():
    """Reads inside go to the replica (when configured); writes still go to default."""
    token = _reads.set(True)
    try:
        yield
    finally:
        _reads.reset(token)


def reads_from_replica(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        with replica_reads():
            return fn(*args, **kwargs)

    return wrapper


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        return REPLICA if _reads.get() and has_replica() else None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same data on both

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
