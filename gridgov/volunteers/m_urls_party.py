"""Phone pages of party life, under /m/volunteer/party/ (issue 11): 双报到, 亮身份, the
vanguard posts of one's community, one's 实事 of the year."""

from django.urls import path

from . import views_party as v

app_name = "m-volunteer-party"

urlpatterns = [
    path("", v.m_home, name="home"),
    path("register/", v.m_register, name="register"),
    path("registrations/<int:reg_id>/identity/", v.m_identity, name="identity"),
    path("registrations/<int:reg_id>/end/", v.m_end, name="end"),
    path("posts/<int:post_id>/take/", v.m_take, name="take"),
    path("posts/<int:post_id>/leave/", v.m_leave, name="leave"),
    path("deeds/", v.m_deeds, name="deeds"),
]
