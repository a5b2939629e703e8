"""Phone pages of the volunteers' teams, under /m/volunteer/teams/ (issue 11)."""

app_name = "m-volunteer-teams"

urlpatterns = []
