"""Staff pages of deliberation (platform, 平台议), at /deliberation/ itself: the board, the
month's data, entering a topic, the processes, and the topic page's controls (views_platform)."""

from django.urls import path

from . import views_platform as v

app_name = "deliberation-platform"

urlpatterns = [
    path("", v.board, name="board"),
    path("month/", v.month_page, name="month"),
    path("month/offer/", v.month_offer, name="offer"),
    path("enter/", v.enter_page, name="enter"),
    path("topics/<int:pk>/advance/", v.topic_advance, name="advance"),
    path("topics/<int:pk>/choose/", v.topic_choose, name="choose"),
    path("topics/<int:pk>/decline/", v.topic_decline, name="decline"),
    path("topics/<int:pk>/problem/", v.topic_problem, name="problem"),
    path("processes/", v.processes_page, name="processes"),
    path("processes/<int:pk>/", v.process_edit, name="process"),
    path("processes/<int:pk>/default/", v.process_default, name="default"),
    path("processes/<int:pk>/deactivate/", v.process_deactivate, name="deactivate"),
]
