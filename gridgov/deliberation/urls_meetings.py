"""Staff pages of deliberation (meetings), under /deliberation/meetings/."""

app_name = "deliberation-meetings"

urlpatterns = []
