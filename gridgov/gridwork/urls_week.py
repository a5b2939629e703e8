"""Staff pages of grid work: the week slice."""

from django.urls import path  # noqa: F401

app_name = "gridwork-week"

urlpatterns = []
