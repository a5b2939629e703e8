"""Staff pages of the property alliance: the ledger slice (/property/problems/)."""

from django.urls import path

from . import views_ledger as v

app_name = "property-ledger"

urlpatterns = [
    path("", v.ledger, name="ledger"),
    path("<int:pk>/", v.problem_page, name="problem"),
    path("<int:pk>/answer/", v.answer, name="answer"),
    path("<int:pk>/recheck/", v.recheck, name="recheck"),
    path("<int:pk>/cancel/", v.cancel, name="cancel"),
    path("photos/<int:pk>/", v.photo, name="photo"),
]
