"""Staff pages of deliberation (platform), under /deliberation/platform/."""

app_name = "deliberation-platform"

urlpatterns = []
