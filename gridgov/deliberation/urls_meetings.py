"""Staff pages of deliberation (meetings), under /deliberation/meetings/."""

from django.urls import path

from . import views_meetings as v

app_name = "deliberation-meetings"

urlpatterns = [
    path("", v.staff_list, name="list"),
    path("convene/<int:topic_pk>/", v.staff_convene, name="convene"),
    path("<int:pk>/", v.staff_detail, name="detail"),
    path("<int:pk>/tally/", v.staff_tally, name="tally"),
    path("<int:pk>/invite/", v.staff_invite, name="invite"),
    path("<int:pk>/uninvite/<int:invitee_pk>/", v.staff_uninvite, name="uninvite"),
    path("<int:pk>/options/", v.staff_options, name="options"),
    path("<int:pk>/attendance/", v.staff_attendance, name="attendance"),
    path("<int:pk>/vote/", v.staff_vote, name="vote"),
    path("<int:pk>/close/", v.staff_close, name="close"),
    path("<int:pk>/cancel/", v.staff_cancel, name="cancel"),
]
