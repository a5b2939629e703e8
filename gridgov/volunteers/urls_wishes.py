"""Staff pages of the volunteers' wishes, under /volunteers/wishes/ (issue 11)."""

app_name = "volunteers-wishes"

urlpatterns = []
