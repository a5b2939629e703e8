"""Staff pages of grid work: the day slice (/gridwork/day/: patrols, visits, the needs ledger,
daily logs, the overdue visits)."""

from django.urls import path

from . import views_day as v

app_name = "gridwork-day"

urlpatterns = [
    path("", v.index, name="index"),
    path("patrols/", v.patrols, name="patrols"),
    path("patrols/<int:pk>/", v.patrol, name="patrol"),
    path("visits/", v.visits, name="visits"),
    path("needs/", v.needs, name="needs"),
    path("needs/<int:pk>/<str:act>/", v.need_act, name="need-act"),
    path("logs/", v.logs, name="logs"),
    path("plan/", v.plan, name="plan"),
]
