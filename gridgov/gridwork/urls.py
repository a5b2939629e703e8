"""Staff pages of grid work, under /gridwork/: disputes (the ledger), the week and the month
(highlights, monthly summaries), the quarter (the assessment board, at the root), the day
(patrols, visits, needs, daily logs, the visit plan)."""

from django.urls import include, path

app_name = "gridwork"

urlpatterns = [
    path("day/", include("gridgov.gridwork.urls_day")),
    path("disputes/", include("gridgov.gridwork.urls_disputes")),
    path("week/", include("gridgov.gridwork.urls_week")),
    path("", include("gridgov.gridwork.urls_assess")),
]
