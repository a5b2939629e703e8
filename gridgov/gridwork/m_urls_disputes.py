"""Phone pages of grid work: the disputes slice."""

from django.urls import path  # noqa: F401

app_name = "m-gridwork-disputes"

urlpatterns = []
