"""Phone pages of deliberation (居民提、楼长集), at the root of /m/deliberation/: the hub of the
phone section, proposing, the steward's page and the acts of the topic page's include."""

from django.urls import path

from . import views_proposals as v

app_name = "m-deliberation-proposals"

urlpatterns = [
    path("", v.m_home, name="home"),
    path("propose/", v.m_propose, name="propose"),
    path("steward/", v.m_steward, name="steward"),
    path("topics/<int:pk>/support/", v.m_support, name="support"),
    path("topics/<int:pk>/unsupport/", v.m_unsupport, name="unsupport"),
    path("topics/<int:pk>/comment/", v.m_comment, name="comment"),
    path("topics/<int:pk>/note/", v.m_note, name="note"),
    path("topics/<int:pk>/merge/", v.m_merge, name="merge"),
    path("topics/<int:pk>/forward/", v.m_forward, name="forward"),
    path("topics/<int:pk>/withdraw/", v.m_withdraw, name="withdraw"),
]
