"""Staff pages of grid work: the disputes slice (/gridwork/disputes/: the ledger, a dispute, the
record form, the xlsx export with ?format=xlsx)."""

from django.urls import path

from . import views_disputes as v

app_name = "gridwork-disputes"

urlpatterns = [
    path("", v.ledger, name="ledger"),
    path("new/", v.new, name="new"),
    path("<int:pk>/", v.detail, name="detail"),
    path("<int:pk>/<str:act>/", v.act, name="act"),
]
