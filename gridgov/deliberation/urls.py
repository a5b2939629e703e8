"""Staff pages of deliberation, under /deliberation/: the board and month's data (platform), the
topic page (views_hub), each slice's pages under its own prefix."""

from django.urls import include, path

from . import views_hub

app_name = "deliberation"

urlpatterns = [
    path("topics/<int:pk>/", views_hub.staff_topic, name="topic"),
    path("proposals/", include("gridgov.deliberation.urls_proposals")),
    path("meetings/", include("gridgov.deliberation.urls_meetings")),
    path("execution/", include("gridgov.deliberation.urls_execution")),
    path("effect/", include("gridgov.deliberation.urls_effect")),
    # the board (/deliberation/) and the month's data: the platform slice
    path("", include("gridgov.deliberation.urls_platform")),
]
