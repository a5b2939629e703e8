"""Staff pages of deliberation (execution), under /deliberation/execution/."""

app_name = "deliberation-execution"

urlpatterns = []
