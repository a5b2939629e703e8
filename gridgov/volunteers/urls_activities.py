"""Staff pages of the volunteers' activities, under /volunteers/activities/ (issue 11)."""

app_name = "volunteers-activities"

urlpatterns = []
