"""Phone pages of grid work: the disputes slice (/m/gridwork/disputes/: my open disputes and
follow-ups, record one on the spot, a dispute with its actions)."""

from django.urls import path

from . import views_disputes as v

app_name = "m-gridwork-disputes"

urlpatterns = [
    path("", v.m_index, name="index"),
    path("new/", v.m_new, name="new"),
    path("<int:pk>/", v.m_detail, name="detail"),
    path("<int:pk>/<str:act>/", v.m_act, name="act"),
]
