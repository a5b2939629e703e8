"""Phone pages of the property alliance: the inspections slice."""

urlpatterns = []
