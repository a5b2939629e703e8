"""Phone pages of grid work: the assess slice."""

from django.urls import path  # noqa: F401

app_name = "m-gridwork-assess"

urlpatterns = []
