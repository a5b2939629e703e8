"""Phone pages of deliberation, under /m/deliberation/: the topic page (views_hub); the list of
topics, proposing and following (the proposals slice, at the root), each slice's pages."""

from django.urls import include, path

from . import views_hub

app_name = "m-deliberation"

urlpatterns = [
    path("topics/<int:pk>/", views_hub.m_topic, name="topic"),
    path("meetings/", include("gridgov.deliberation.m_urls_meetings")),
    path("execution/", include("gridgov.deliberation.m_urls_execution")),
    path("effect/", include("gridgov.deliberation.m_urls_effect")),
    path("platform/", include("gridgov.deliberation.m_urls_platform")),
    path("", include("gridgov.deliberation.m_urls_proposals")),
]
