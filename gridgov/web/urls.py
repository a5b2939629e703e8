from django.contrib.auth import views as auth_views
from django.urls import path

from gridgov.accounts.forms import LoginForm
from gridgov.accounts.views import LoginView

from . import views, views_cases, views_departments, views_summons

app_name = "web"

urlpatterns = [
    path(
        "login/",
        LoginView.as_view(template_name="web/login.html", authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("account/2fa/", views.two_factor, name="two-factor"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views_cases.workbench, name="workbench"),
    path("territory/", views.home, name="home"),
    path("cases/<int:pk>/", views_cases.case_page, name="case"),
    path("cases/<int:pk>/act/<str:action>/", views_cases.case_action, name="case-action"),
    path("cases/<int:pk>/photos/<int:photo>/", views_cases.case_photo, name="case-photo"),
    path("summons/", views_summons.summons_list, name="summons"),
    path("summons/<int:pk>/report/", views_summons.summons_report, name="summons-report"),
    path("departments/", views_departments.department_list, name="departments"),
    path("departments/new/", views_departments.department_new, name="department-new"),
    path("departments/<int:pk>/", views_departments.department_detail, name="department"),
    path("departments/<int:pk>/end/", views_departments.department_end, name="department-end"),
    path("departments/<int:pk>/members/", views_departments.department_members, name="department-members"),
    path("grids/<str:code>/", views.grid_detail, name="grid"),
    path("records/<str:kind>/", views.record_list, name="records"),
    path("residents/<int:pk>/", views.resident_detail, name="resident"),
    path("residents/<int:pk>/reveal/<str:field>/", views.resident_reveal, name="resident-reveal"),
    path("imports/", views.imports, name="imports"),
    path("imports/template/<str:kind>.xlsx", views.import_template, name="import-template"),
    path("imports/errors.xlsx", views.import_errors, name="import-errors"),
    path("exports/", views.exports, name="exports"),
    path("exports/<uuid:job_id>/", views.export_job, name="export-job"),
    path("exports/<uuid:job_id>/file", views.export_file, name="export-file"),
    path("exports/<str:kind>.xlsx", views.export_kind, name="export"),
]
