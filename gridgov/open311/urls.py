from django.urls import re_path

from . import views

F = r"\.(?P<fmt>json|xml)$"

urlpatterns = [
    re_path(r"^discovery" + F, views.discovery),
    re_path(r"^v2/services" + F, views.service_list),
    re_path(r"^v2/services/(?P<code>[^/]+?)" + F, views.service_definition),
    re_path(r"^v2/requests" + F, views.requests),
    re_path(r"^v2/requests/(?P<number>[^/]+?)" + F, views.request_detail),
    re_path(r"^v2/tokens/(?P<token>[^/]+?)" + F, views.token),
    re_path(r"^(?P<path>.*)$", views.not_found_any),
]
