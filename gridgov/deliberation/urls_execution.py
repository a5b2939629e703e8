"""Staff pages of deliberation (execution: 专人办、结果亮), under /deliberation/execution/."""

from django.urls import path

from . import views_execution as v

app_name = "deliberation-execution"

urlpatterns = [
    path("", v.ledger, name="ledger"),
    path("topics/<int:pk>/assign/", v.assign, name="assign"),
    path("topics/<int:pk>/carry-out/", v.carry_out, name="carry-out"),
    path("topics/<int:pk>/done/", v.done, name="done"),
    path("topics/<int:pk>/result/", v.result, name="result"),
    path("photos/<int:pk>/", v.photo, name="photo"),
]
