"""Included by the lead under /hotline/."""

from django.urls import path

from . import views

app_name = "hotline"

urlpatterns = [
    path("report/", views.monthly_report, name="report-latest"),
    path("report/<str:month>/", views.monthly_report, name="report"),
    path("report/<str:month>/rates.xlsx", views.monthly_report_xlsx, name="report-xlsx"),
    path("tickets/", views.ticket_list, name="tickets"),
    path("tickets/<int:pk>/", views.ticket_page, name="ticket"),
    path("tickets/<int:pk>/category/", views.ticket_category, name="ticket-category"),
    path("tickets/<int:pk>/address/", views.ticket_address, name="ticket-address"),
    path("tickets/<int:pk>/grid/", views.ticket_grid, name="ticket-grid"),
    path("addresses/", views.address_queue, name="addresses"),
    path("topics/", views.topics, name="topics"),
    path("projects/", views.project_list, name="projects"),
    path("projects/new/", views.project_create, name="project-create"),
    path("projects/<int:pk>/", views.project_page, name="project"),
    path("projects/<int:pk>/status/", views.project_status, name="project-status"),
    path("projects/<int:pk>/milestones/", views.milestone_add, name="milestone-add"),
    path("projects/<int:pk>/milestones/<int:mid>/", views.milestone_progress, name="milestone-progress"),
]
