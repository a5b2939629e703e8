from django.urls import include, path
from django.views.i18n import set_language

from gridgov.api import api
from gridgov.core.i18n import JavaScriptCatalog

urlpatterns = [
    # the header's 中文 / English switch (POST, CSRF) and the scripts' catalogue
    path("i18n/setlang/", set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/", api.urls),
    path("m/points/", include("gridgov.volunteers.mobile_urls")),
    path("m/volunteer/", include("gridgov.volunteers.m_urls")),
    path("m/deliberation/", include("gridgov.deliberation.m_urls")),
    path("m/property/", include("gridgov.property.m_urls")),
    path("m/gridwork/", include("gridgov.gridwork.m_urls")),
    path("m/", include("gridgov.mobile.urls")),
    path("volunteers/", include("gridgov.volunteers.urls")),
    path("deliberation/", include("gridgov.deliberation.urls")),
    path("property/", include("gridgov.property.urls")),
    path("gridwork/", include("gridgov.gridwork.urls")),
    path("hotline/", include("gridgov.hotline.urls")),
    path("open311/", include("gridgov.open311.urls")),
    path("", include("gridgov.insight.urls")),
    path("", include("gridgov.web.urls")),
]
