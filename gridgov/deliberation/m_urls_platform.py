"""Phone pages of deliberation (platform), under /m/deliberation/platform/."""

app_name = "m-deliberation-platform"

urlpatterns = []
