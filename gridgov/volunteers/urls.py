from django.urls import include, path

from . import views, views_hub

app_name = "volunteers"

urlpatterns = [
    path("", views_hub.staff_hub, name="hub"),
    path("points/", views.staff_points, name="points"),
    path("points/rules/<str:key>/", views.edit_rule, name="edit-rule"),
    path("points/find/", views.find, name="points-find"),
    path("points/merchants/", views.add_merchant, name="points-add-merchant"),
    path("points/accounts/<int:pk>/", views.staff_account, name="points-account"),
    path("points/accounts/<int:pk>/correct/", views.correct_account, name="points-correct"),
    path("points/accounts/<int:pk>/rewards/", views.add_reward, name="points-add-reward"),
    path("points/accounts/<int:pk>/station/", views.edit_station, name="points-edit-station"),
    path("points/rewards/<int:reward_id>/", views.edit_reward, name="points-edit-reward"),
    path("points/registry/<int:volunteer_id>/correct/", views.correct_registry_volunteer, name="points-correct-registry"),
    path("activities/", include("gridgov.volunteers.urls_activities")),
    path("teams/", include("gridgov.volunteers.urls_teams")),
    path("party/", include("gridgov.volunteers.urls_party")),
    path("wishes/", include("gridgov.volunteers.urls_wishes")),
]
