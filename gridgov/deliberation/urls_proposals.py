"""Staff pages of deliberation (proposals), under /deliberation/proposals/."""

app_name = "deliberation-proposals"

urlpatterns = []
