"""Staff pages of the volunteers' party, under /volunteers/party/ (issue 11)."""

app_name = "volunteers-party"

urlpatterns = []
