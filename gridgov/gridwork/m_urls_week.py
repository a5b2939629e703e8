"""Phone pages of grid work: the week (/m/gridwork/week/: mark a highlight of my week, my month so far)."""

from django.urls import path

from . import views_week as v

app_name = "m-gridwork-week"

urlpatterns = [
    path("", v.m_week, name="week"),
]
