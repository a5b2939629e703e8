"""Staff pages of the property alliance, under /property/: the board with the quarter's ranking
(scores slice, at the root), inspections and the indicator system, the problem ledger."""

from django.urls import include, path

app_name = "property"

urlpatterns = [
    path("inspections/", include("gridgov.property.urls_inspections")),
    path("problems/", include("gridgov.property.urls_ledger")),
    path("", include("gridgov.property.urls_scores")),
]
