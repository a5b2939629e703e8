"""Staff pages of grid work: the disputes slice."""

from django.urls import path  # noqa: F401

app_name = "gridwork-disputes"

urlpatterns = []
