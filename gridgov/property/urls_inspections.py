"""Staff pages of the property alliance: the inspections slice, under /property/inspections/."""

from django.urls import path

from . import views_inspections as v

urlpatterns = [
    path("", v.inspection_list, name="inspections"),
    path("plan/", v.plan, name="inspection-plan"),
    path("indicators/", v.indicator_page, name="indicators"),
    path("photos/<int:pk>/", v.photo, name="inspection-photo"),
    path("<int:pk>/", v.inspection_page, name="inspection"),
    path("<int:pk>/cancel/", v.cancel, name="inspection-cancel"),
]
