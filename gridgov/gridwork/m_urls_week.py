"""Phone pages of grid work: the week slice."""

from django.urls import path  # noqa: F401

app_name = "m-gridwork-week"

urlpatterns = []
