"""Included by the lead under /hotline/."""

from django.urls import path

from . import views

app_name = "hotline"

urlpatterns = [
    path("report/", views.monthly_report, name="report-latest"),
    path("report/<str:month>/", views.monthly_report, name="report"),
    path("report/<str:month>/rates.xlsx", views.monthly_report_xlsx, name="report-xlsx"),
]
