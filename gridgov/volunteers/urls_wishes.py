"""Staff pages of the wish wall (微心愿), under /volunteers/wishes/ (issue 11)."""

from django.urls import path

from . import views_wishes as v

app_name = "volunteers-wishes"

urlpatterns = [
    path("", v.staff_list, name="list"),
    path("new/", v.staff_new, name="new"),
    path("<int:pk>/", v.staff_detail, name="detail"),
    path("<int:pk>/cancel/", v.staff_cancel, name="cancel"),
    path("<int:pk>/confirm/", v.staff_confirm, name="confirm"),
    path("<int:pk>/reject/", v.staff_reject, name="reject"),
    path("<int:pk>/photo/", v.photo, name="photo"),
]
