"""Staff pages of deliberation (居民提、楼长集), under /deliberation/proposals/: the held comments,
the buildings' QR codes, entering a topic for someone and the acts of the topic page's include."""

from django.urls import path

from . import views_proposals as v

app_name = "deliberation-proposals"

urlpatterns = [
    path("held/", v.held, name="held"),
    path("qr/", v.qr, name="qr"),
    path("enter/", v.enter, name="enter"),
    path("<int:pk>/note/", v.note, name="note"),
    path("<int:pk>/merge/", v.merge, name="merge"),
    path("comments/<int:cid>/release/", v.release, name="release"),
    path("comments/<int:cid>/reject/", v.reject, name="reject"),
]
