"""Staff pages of deliberation (effect), under /deliberation/effect/."""

from django.urls import path

from . import views_effect as v

app_name = "deliberation-effect"

urlpatterns = [
    path("", v.staff_list, name="list"),
]
