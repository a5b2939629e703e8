"""Phone pages of deliberation (proposals), under /m/deliberation/proposals/."""

app_name = "m-deliberation-proposals"

urlpatterns = []
