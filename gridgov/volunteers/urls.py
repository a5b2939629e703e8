from django.urls import path

from . import views

app_name = "volunteers"

urlpatterns = [
    path("points/", views.staff_points, name="points"),
    path("points/rules/<str:key>/", views.edit_rule, name="edit-rule"),
]
