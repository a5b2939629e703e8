"""Phone pages of the property alliance: the scores slice."""

urlpatterns = []
