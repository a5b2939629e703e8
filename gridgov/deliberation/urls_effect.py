"""Staff pages of deliberation (effect), under /deliberation/effect/."""

app_name = "deliberation-effect"

urlpatterns = []
