"""Phone pages of grid work: my assessment (/m/gridwork/assess/: this quarter so far and the last)."""

from django.urls import path

from . import views_assess as v

app_name = "m-gridwork-assess"

urlpatterns = [
    path("", v.m_mine, name="mine"),
]
