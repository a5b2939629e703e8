"""Staff pages of the volunteers' activities, under /volunteers/activities/ (issue 11)."""

from django.urls import path

from . import views_activities as v

app_name = "volunteers-activities"

urlpatterns = [
    path("", v.staff_list, name="list"),
    path("new/", v.staff_new, name="new"),
    path("<int:activity_id>/", v.staff_detail, name="detail"),
    path("<int:activity_id>/edit/", v.staff_edit, name="edit"),
    path("<int:activity_id>/cancel/", v.staff_cancel, name="cancel"),
    path("<int:activity_id>/finish/", v.staff_finish, name="finish"),
    path("signups/<int:signup_id>/checkin/", v.staff_checkin, name="checkin-by-hand"),
    path("signups/<int:signup_id>/confirm/", v.staff_confirm, name="confirm"),
]
