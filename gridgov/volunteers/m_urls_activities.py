"""Phone pages of the volunteers' activities, under /m/volunteer/activities/ (issue 11)."""

from django.urls import path

from . import views_activities as v

app_name = "m-volunteer-activities"

urlpatterns = [
    path("", v.m_list, name="list"),
    path("hours/", v.m_hours, name="hours"),
    path("publish/", v.m_publish, name="publish"),
    path("<int:activity_id>/", v.m_detail, name="detail"),
    path("<int:activity_id>/signup/", v.m_signup, name="signup"),
    path("<int:activity_id>/cancel-signup/", v.m_cancel_signup, name="cancel-signup"),
    path("<int:activity_id>/checkin/", v.m_checkin, name="checkin"),
    path("<int:activity_id>/checkout/", v.m_checkout, name="checkout"),
    path("<int:activity_id>/run/", v.m_run, name="run"),
    path("<int:activity_id>/run/code/", v.m_code, name="code"),
    path("<int:activity_id>/run/finish/", v.m_run_finish, name="finish"),
    path("signups/<int:signup_id>/checkin/", v.m_run_checkin, name="checkin-by-hand"),
    path("signups/<int:signup_id>/confirm/", v.m_run_confirm, name="confirm"),
]
