"""Phone pages of the property alliance, under /m/property/: walking an inspection
(inspections slice), the company's and the re-checker's problems (ledger slice, at the root),
a project's scores (scores slice)."""

from django.urls import include, path

app_name = "m-property"

urlpatterns = [
    path("inspections/", include("gridgov.property.m_urls_inspections")),
    path("scores/", include("gridgov.property.m_urls_scores")),
    path("", include("gridgov.property.m_urls_ledger")),
]
