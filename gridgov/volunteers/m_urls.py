"""The volunteer's phone hub, /m/volunteer/: one page with the ways in (activities, teams and my
service, the wish wall, party life, points), each slice's pages under it."""

from django.urls import include, path

from . import views_hub

app_name = "m-volunteer"

urlpatterns = [
    path("", views_hub.m_hub, name="hub"),
    path("activities/", include("gridgov.volunteers.m_urls_activities")),
    path("teams/", include("gridgov.volunteers.m_urls_teams")),
    path("party/", include("gridgov.volunteers.m_urls_party")),
    path("wishes/", include("gridgov.volunteers.m_urls_wishes")),
]
