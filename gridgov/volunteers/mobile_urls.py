"""The volunteers' phone pages, under /m/points/."""

from django.urls import path

from . import views

app_name = "m-points"

urlpatterns = [
    path("", views.my_points, name="mine"),
    path("rewards/<int:reward_id>/redeem/", views.redeem, name="redeem"),
    path("redemptions/<int:redemption_id>/cancel/", views.cancel, name="cancel"),
    path("station/", views.station, name="station"),
]
