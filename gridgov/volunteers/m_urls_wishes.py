"""Phone pages of the wish wall (微心愿), under /m/volunteer/wishes/ (issue 11)."""

from django.urls import path

from . import views_wishes as v

app_name = "m-volunteer-wishes"

urlpatterns = [
    path("", v.m_wall, name="wall"),
    path("new/", v.m_new, name="new"),
    path("mine/", v.m_mine, name="mine"),
    path("<int:pk>/", v.m_detail, name="detail"),
    path("<int:pk>/claim/", v.m_claim, name="claim"),
    path("<int:pk>/release/", v.m_release, name="release"),
    path("<int:pk>/fulfil/", v.m_fulfil, name="fulfil"),
    path("<int:pk>/confirm/", v.m_confirm, name="confirm"),
    path("<int:pk>/reject/", v.m_reject, name="reject"),
    path("<int:pk>/cancel/", v.m_cancel, name="cancel"),
    path("<int:pk>/photo/", v.photo, name="photo"),
]
