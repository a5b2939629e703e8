"""Phone pages of the property alliance: the inspections slice, under /m/property/inspections/."""

from django.urls import path

from . import views_inspections as v

urlpatterns = [
    path("", v.m_home, name="inspections"),
    path("unannounced/", v.m_unannounced, name="inspection-unannounced"),
    path("photos/<int:pk>/", v.photo, name="inspection-photo"),
    path("<int:pk>/", v.m_walk, name="inspection"),
    path("<int:pk>/start/", v.m_start, name="inspection-start"),
    path("<int:pk>/deductions/", v.m_deduct, name="inspection-deduct"),
    path("<int:pk>/deductions/<int:did>/remove/", v.m_remove, name="inspection-undeduct"),
    path("<int:pk>/submit/", v.m_submit, name="inspection-submit"),
]
