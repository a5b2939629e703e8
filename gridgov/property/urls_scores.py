"""Staff pages of the property alliance: the scores slice (the board at /property/, a project's
trend and quarterly report, the complaints behind its data score, the company's view)."""

from django.urls import path

from . import views_scores as v

app_name = "property-scores"

urlpatterns = [
    path("", v.board, name="board"),
    path("publish/", v.publish, name="publish"),
    path("company/", v.company, name="company"),
    path("projects/<int:pk>/", v.project_page, name="project"),
    path("projects/<int:pk>/report/", v.report, name="report"),
    path("projects/<int:pk>/complaints/", v.complaints, name="complaints"),
]
