"""Database sessions that report a lost database as a server error.

Django's database session store turns every DatabaseError on saving into UpdateError, which
SessionMiddleware answers with 400 (SessionInterrupted, "the session was deleted"). With
SESSION_SAVE_EVERY_REQUEST a report filed while PostgreSQL restarts could then be answered
400, and a client would not resend it. A connection error (OperationalError, InterfaceError) is
re-raised instead, so the answer is 500 and the client retries with its Idempotency-Key; a
session really deleted meanwhile still gives UpdateError."""

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import UpdateError
from django.db import InterfaceError, OperationalError


class SessionStore(db.SessionStore):
    def save(self, must_create=False):
        try:
            super().save(must_create=must_create)
        except UpdateError as exc:
            if isinstance(exc.__context__, (OperationalError, InterfaceError)):
                raise exc.__context__ from None
            raise
