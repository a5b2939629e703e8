"""Helpers of the ledger slice's tests: a problem opened at a given time, clients, a scratch media root."""

from datetime import datetime

from django.test import Client
from django.utils import timezone

from .world import inspection

TZ = timezone.get_current_timezone()


def at(*args):
    return timezone.make_aware(datetime(*args), TZ)


def problem(w, side="c1", *, now, code="C2", note="垃圾桶满溢"):
    """One problem of side's project, found by an inspection submitted at `now`."""
    return inspection(w, side, deductions=[(code, None, note)], now=now).problems.get()


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c
