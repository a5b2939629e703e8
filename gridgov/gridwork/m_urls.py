"""Phone pages of grid work, under /m/gridwork/: the worker's day (at the root: patrol, visits,
needs, the day's record, overdue visits), disputes, highlights, one's own assessment."""

from django.urls import include, path

app_name = "m-gridwork"

urlpatterns = [
    path("disputes/", include("gridgov.gridwork.m_urls_disputes")),
    path("week/", include("gridgov.gridwork.m_urls_week")),
    path("assess/", include("gridgov.gridwork.m_urls_assess")),
    path("", include("gridgov.gridwork.m_urls_day")),
]
