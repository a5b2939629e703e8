from django.urls import include, path

from gridgov.api import api

urlpatterns = [
    path("api/", api.urls),
    path("hotline/", include("gridgov.hotline.urls")),
    path("", include("gridgov.insight.urls")),
    path("", include("gridgov.web.urls")),
]
