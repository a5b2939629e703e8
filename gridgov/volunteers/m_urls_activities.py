"""Phone pages of the volunteers' activities, under /m/volunteer/activities/ (issue 11)."""

app_name = "m-volunteer-activities"

urlpatterns = []
