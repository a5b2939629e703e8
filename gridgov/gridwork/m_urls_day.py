"""Phone pages of grid work: the day slice (at /m/gridwork/: today with the patrol, a visit,
the needs, the day's record, the overdue visits)."""

from django.urls import path

from . import views_day as v

app_name = "m-gridwork-day"

urlpatterns = [
    path("", v.m_today, name="today"),
    path("visit/", v.m_visit_find, name="visit-find"),
    path("visit/<int:house_id>/", v.m_visit, name="visit"),
    path("needs/", v.m_needs, name="needs"),
    path("needs/<int:pk>/case/", v.m_need_case, name="need-case"),
    path("needs/<int:pk>/service/", v.m_need_service, name="need-service"),
    path("log/", v.m_log, name="log"),
    path("plan/", v.m_plan, name="plan"),
]
