"""Phone pages of deliberation (execution: 专人办、结果亮), under /m/deliberation/execution/."""

from django.urls import path

from . import views_execution as v

app_name = "m-deliberation-execution"

urlpatterns = [
    path("mine/", v.m_mine, name="mine"),
    path("topics/<int:pk>/done/", v.m_done, name="done"),
    path("topics/<int:pk>/rate/", v.m_rate, name="rate"),
    path("photos/<int:pk>/", v.photo, name="photo"),
]
