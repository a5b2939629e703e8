from unittest import mock

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.db import DatabaseError, OperationalError

from gridgov.core.sessions import SessionStore


def _save_failing_with(exc):
    s = SessionStore()
    s.create()
    s["x"] = 1
    with mock.patch("django.contrib.sessions.models.Session.save", side_effect=exc):
        s.save()


@pytest.mark.django_db
def test_lost_database_on_session_save_is_a_server_error_not_an_interrupted_session():
    with pytest.raises(OperationalError):
        _save_failing_with(OperationalError("connection failed: the database system is shutting down"))


@pytest.mark.django_db
def test_session_deleted_meanwhile_is_still_an_update_error():
    with pytest.raises(UpdateError):
        _save_failing_with(DatabaseError("Forced update did not affect any rows."))
