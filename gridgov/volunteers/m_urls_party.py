"""Phone pages of the volunteers' party, under /m/volunteer/party/ (issue 11)."""

app_name = "m-volunteer-party"

urlpatterns = []
