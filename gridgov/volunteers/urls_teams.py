"""Staff pages of the volunteers' teams, under /volunteers/teams/ (issue 11): the teams of one's
grids, a team's members, duties and applications, the hours report and its export; and the
public check of a certificate's number."""

from django.urls import path

from . import views_teams as v

app_name = "volunteers-teams"

urlpatterns = [
    path("", v.staff_teams, name="list"),
    path("<int:team_id>/", v.staff_team, name="team"),
    path("<int:team_id>/leader/", v.staff_set_leader, name="leader"),
    path("<int:team_id>/members/<int:volunteer_id>/duties/", v.staff_duties, name="duties"),
    path("<int:team_id>/members/<int:volunteer_id>/remove/", v.staff_remove, name="remove"),
    path("<int:team_id>/applications/<int:app_id>/<str:verdict>/", v.staff_decide, name="decide"),
    path("people/<int:user_id>/certificate.pdf", v.staff_certificate, name="certificate"),
    path("hours/", v.staff_hours, name="hours"),
    path("hours.xlsx", v.staff_hours_xlsx, name="hours-xlsx"),
    path("certificate/verify", v.verify_certificate, name="verify"),
]
