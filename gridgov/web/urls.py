from django.contrib.auth import views as auth_views
from django.urls import path

from gridgov.accounts.forms import LoginForm
from gridgov.accounts.views import LoginView

from . import views, views_apikeys, views_cases, views_duties, views_records, views_rules, views_staff, views_summons

app_name = "web"

urlpatterns = [
    path(
        "login/",
        LoginView.as_view(template_name="web/login.html", authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("account/2fa/", views.two_factor, name="two-factor"),
    path("account/password/", views_staff.password_change, name="password-change"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views_cases.workbench, name="workbench"),
    path("territory/", views.home, name="home"),
    path("cases/<int:pk>/", views_cases.case_page, name="case"),
    path("cases/<int:pk>/act/<str:action>/", views_cases.case_action, name="case-action"),
    path("cases/<int:pk>/photos/<int:photo>/", views_cases.case_photo, name="case-photo"),
    path("summons/", views_summons.summons_list, name="summons"),
    path("summons/<int:pk>/report/", views_summons.summons_report, name="summons-report"),
    path("grids/<str:code>/", views.grid_detail, name="grid"),
    path("duties/", views_duties.duty_list, name="duties"),
    path("duties/assign/", views_duties.duty_assign, name="duty-assign"),
    path("duties/<int:pk>/end/", views_duties.duty_end, name="duty-end"),
    path("duties/coverage/", views_duties.duty_coverage, name="duty-coverage"),
    path("records/<str:kind>/", views.record_list, name="records"),
    path("records/<str:kind>/new/", views_records.record_new, name="record-new"),
    path("records/<str:kind>/<int:pk>/", views_records.record_detail, name="record"),
    path("records/<str:kind>/<int:pk>/edit/", views_records.record_edit, name="record-edit"),
    path("records/<str:kind>/<int:pk>/end/", views_records.record_end, name="record-end"),
    path("residents/<int:pk>/", views.resident_detail, name="resident"),
    path("residents/<int:pk>/reveal/<str:field>/", views.resident_reveal, name="resident-reveal"),
    path("imports/", views.imports, name="imports"),
    path("imports/template/<str:kind>.xlsx", views.import_template, name="import-template"),
    path("imports/errors.xlsx", views.import_errors, name="import-errors"),
    path("apikeys/", views_apikeys.apikeys, name="apikeys"),
    path("apikeys/<int:pk>/<str:action>/", views_apikeys.apikey_action, name="apikey-action"),
    path("exports/", views.exports, name="exports"),
    path("exports/<uuid:job_id>/", views.export_job, name="export-job"),
    path("exports/<uuid:job_id>/file", views.export_file, name="export-file"),
    path("exports/<str:kind>.xlsx", views.export_kind, name="export"),
    path("taxonomy/", views_rules.taxonomy_page, name="taxonomy"),
    path("taxonomy/items/<str:code>/", views_rules.taxonomy_item, name="taxonomy-item"),
    path("taxonomy/scenarios/<str:code>/", views_rules.taxonomy_scenario, name="taxonomy-scenario"),
    path("routing/", views_rules.routing_page, name="routing"),
    path("routing/rules/<int:pk>/", views_rules.routing_rule, name="routing-rule"),
    path("routing/paths/<str:code>/", views_rules.routing_path, name="routing-path"),
    path("calendar/", views_rules.calendar_page, name="calendar"),
    path("settings/", views_rules.settings_page, name="settings"),
    path("staff/", views_staff.staff_list, name="staff"),
    path("staff/new/", views_staff.staff_new, name="staff-new"),
    path("staff/import/", views_staff.staff_import, name="staff-import"),
    path("staff/import/template.xlsx", views_staff.staff_import_template, name="staff-import-template"),
    path("staff/<int:pk>/", views_staff.staff_detail, name="staff-detail"),
    path("staff/<int:pk>/edit/", views_staff.staff_edit, name="staff-edit"),
    path("staff/<int:pk>/disable/", views_staff.staff_disable, name="staff-disable"),
    path("staff/<int:pk>/enable/", views_staff.staff_enable, name="staff-enable"),
    path("staff/<int:pk>/reset-password/", views_staff.staff_reset_password, name="staff-reset-password"),
]
