"""Staff pages of the volunteers' teams, under /volunteers/teams/ (issue 11)."""

app_name = "volunteers-teams"

urlpatterns = []
