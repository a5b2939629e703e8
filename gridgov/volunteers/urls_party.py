"""Staff pages of party life, under /volunteers/party/ (issue 11): the 双报到 roll (and its
xlsx), the vanguard posts, the 实事 of the year, the branches (a secretary's page)."""

from django.urls import path

from . import views_party as v

app_name = "volunteers-party"

urlpatterns = [
    path("", v.roll, name="roll"),
    path("roll.xlsx", v.roll_xlsx, name="roll-xlsx"),
    path("units/", v.roll_unit, name="unit"),
    path("registrations/<int:reg_id>/end/", v.roll_end, name="end"),
    path("posts/", v.posts, name="posts"),
    path("posts/new/", v.post_act, {"act": "create"}, name="post-create"),
    path("posts/<int:post_id>/assign/", v.post_act, {"act": "assign"}, name="post-assign"),
    path("posts/<int:post_id>/release/", v.post_act, {"act": "release"}, name="post-release"),
    path("posts/<int:post_id>/close/", v.post_act, {"act": "close"}, name="post-close"),
    path("deeds/", v.deeds, name="deeds"),
    path("branches/", v.branches, name="branches"),
    path("branches/<int:org_id>/", v.branch, name="branch"),
]
