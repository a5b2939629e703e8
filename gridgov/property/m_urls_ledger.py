"""Phone pages of the property alliance: the ledger slice (at /m/property/: the company's problems,
the re-checks waiting for the street's staff, a problem with its answer or re-check form)."""

from django.urls import path

from . import views_ledger as v

app_name = "m-property-ledger"

urlpatterns = [
    path("", v.m_home, name="home"),
    path("problems/<int:pk>/", v.m_problem, name="problem"),
    path("problems/<int:pk>/answer/", v.m_answer, name="answer"),
    path("problems/<int:pk>/recheck/", v.m_recheck, name="recheck"),
    path("photos/<int:pk>/", v.photo, name="photo"),
]
