from django.urls import include, path

from gridgov.api import api

urlpatterns = [
    path("api/", api.urls),
    path("m/", include("gridgov.mobile.urls")),
    path("hotline/", include("gridgov.hotline.urls")),
    path("open311/", include("gridgov.open311.urls")),
    path("", include("gridgov.insight.urls")),
    path("", include("gridgov.web.urls")),
]
