from django.urls import include, path

from . import views, views_hub

app_name = "volunteers"

urlpatterns = [
    path("", views_hub.staff_hub, name="hub"),
    path("points/", views.staff_points, name="points"),
    path("points/rules/<str:key>/", views.edit_rule, name="edit-rule"),
    path("activities/", include("gridgov.volunteers.urls_activities")),
    path("teams/", include("gridgov.volunteers.urls_teams")),
    path("party/", include("gridgov.volunteers.urls_party")),
    path("wishes/", include("gridgov.volunteers.urls_wishes")),
]
