"""Staff pages of the property alliance: the ledger slice."""

urlpatterns = []
