"""Staff pages of grid work: the assessment, at /gridwork/ (the board; a worker's page; the
evidence behind a figure; the scheme; publishing and leaders' marks)."""

from django.urls import path

from . import views_assess as v

app_name = "gridwork-assess"

urlpatterns = [
    path("", v.board, name="board"),
    path("publish/", v.publish, name="publish"),
    path("marks/", v.mark, name="mark"),
    path("workers/<int:pk>/", v.worker, name="worker"),
    path("evidence/", v.evidence, name="evidence"),
    path("scheme/", v.scheme_page, name="scheme"),
]
