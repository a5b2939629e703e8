"""Phone pages of deliberation (meetings), under /m/deliberation/meetings/."""

from django.urls import path

from . import views_meetings as v

app_name = "m-deliberation-meetings"

urlpatterns = [
    path("", v.m_mine, name="mine"),
    path("<int:pk>/", v.m_detail, name="detail"),
    path("<int:pk>/join/", v.m_join, name="join"),
    path("<int:pk>/vote/", v.m_vote, name="vote"),
]
