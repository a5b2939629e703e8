"""Phone pages of deliberation (execution), under /m/deliberation/execution/."""

app_name = "m-deliberation-execution"

urlpatterns = []
