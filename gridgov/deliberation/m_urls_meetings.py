"""Phone pages of deliberation (meetings), under /m/deliberation/meetings/."""

app_name = "m-deliberation-meetings"

urlpatterns = []
