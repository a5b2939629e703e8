"""Phone pages of deliberation (effect), under /m/deliberation/effect/."""

app_name = "m-deliberation-effect"

urlpatterns = []
