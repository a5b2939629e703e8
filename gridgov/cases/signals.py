"""Signals other apps listen to, so that cases never imports them."""

from django.dispatch import Signal

#: sent after the transaction that verified a case (passed) committed; kwargs: case
case_verified = Signal()
