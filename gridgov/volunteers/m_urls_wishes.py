"""Phone pages of the volunteers' wishes, under /m/volunteer/wishes/ (issue 11)."""

app_name = "m-volunteer-wishes"

urlpatterns = []
