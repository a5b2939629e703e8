"""Phone pages of the volunteers' teams, under /m/volunteer/teams/ (issue 11): my service and its
certificate, teams to join, my applications, a leader's page, the steward's patrol."""

from django.urls import path

from . import views_teams as v

app_name = "m-volunteer-teams"

urlpatterns = [
    path("", v.m_service, name="service"),
    path("certificate.pdf", v.m_certificate, name="certificate"),
    path("leave/", v.m_leave, name="leave"),
    path("join/", v.m_join, name="join"),
    path("join/<int:team_id>/", v.m_apply, name="apply"),
    path("applications/<int:app_id>/withdraw/", v.m_withdraw, name="withdraw"),
    path("lead/", v.m_lead, name="lead"),
    path("lead/applications/<int:app_id>/<str:verdict>/", v.m_decide, name="decide"),
    path("lead/members/<int:volunteer_id>/duties/", v.m_duties, name="duties"),
    path("patrol/", v.m_patrol, name="patrol"),
    path("patrol/start/", v.m_patrol_start, name="patrol-start"),
    path("patrol/<int:patrol_id>/end/", v.m_patrol_end, name="patrol-end"),
]
