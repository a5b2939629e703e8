from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "mobile"

urlpatterns = [
    path("", views.report, name="report"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("login/", views.MobileLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="/m/login/"), name="logout"),
    path("register/", views.register, name="register"),
    path("signin/", views.signin, name="signin"),
    path("wechat/start/", views.wechat_start, name="wechat-start"),
    path("wechat/", views.wechat_back, name="wechat"),
    path("cases/", views.my_cases, name="cases"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/rate/", views.rate, name="rate"),
    path("cases/<int:pk>/act/<str:action>/", views.case_action, name="case-action"),
    path("work/", views.work, name="work"),
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/<int:pk>/<str:action>/", views.task_action, name="task-action"),
]
