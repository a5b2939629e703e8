"""Phone pages of deliberation (effect), under /m/deliberation/effect/."""

from django.urls import path

from . import views_effect as v

app_name = "m-deliberation-effect"

urlpatterns = [
    path("", v.m_list, name="list"),
]
