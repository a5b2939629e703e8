"""Staff pages of grid work: the week and the month (/gridwork/week/: the week's highlights and
the community's pick, the wall of the best, the month's summaries, one summary with its note)."""

from django.urls import path

from . import views_week as v

app_name = "gridwork-week"

urlpatterns = [
    path("", v.highlights, name="highlights"),
    path("highlights/<int:pk>/<str:act>/", v.highlight_act, name="highlight-act"),
    path("month/", v.month, name="month"),
    path("summary/", v.summary, name="summary"),
]
