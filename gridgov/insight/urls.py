from django.urls import path

from . import views

app_name = "insight"

urlpatterns = [
    path("map/", views.map_page, name="map"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("screen/", views.screen, name="screen"),
]
