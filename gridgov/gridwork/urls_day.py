"""Staff pages of grid work: the day slice."""

from django.urls import path  # noqa: F401

app_name = "gridwork-day"

urlpatterns = []
