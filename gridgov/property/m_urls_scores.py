"""Phone pages of the property alliance: the scores slice (/m/property/scores/: the company's
scores, problems and what pulled them down)."""

from django.urls import path

from . import views_scores as v

app_name = "m-property-scores"

urlpatterns = [
    path("", v.m_scores, name="scores"),
]
