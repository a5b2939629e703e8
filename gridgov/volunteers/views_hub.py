"""The two doors into volunteer life: /m/volunteer/ on the phone (everyone signed in: join a
team, sign up for an activity, post or claim a wish, register as a party member, see one's
service and points) and /volunteers/ for staff (the pages their access allows)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from gridgov.accounts import policy
from gridgov.accounts.decorators import staff_required

#: the staff pages: (policy kind.action that opens it, url, label)
STAFF_PAGES = [
    ("activities.list", "/volunteers/activities/", _("志愿活动")),
    ("volunteers.list", "/volunteers/teams/", _("志愿服务队与服务时长")),
    ("party.list", "/volunteers/party/", _("双报到与党员先锋岗")),
    ("wishes.list", "/volunteers/wishes/", _("微心愿")),
    ("points.list", "/volunteers/points/", _("积分与兑换")),
]


@login_required(login_url="/m/login/")
def m_hub(request):
    return render(request, "volunteers/m_hub.html", {"tab": "volunteer"})


@staff_required
def staff_hub(request):
    pages = [(url, label) for perm, url, label in STAFF_PAGES if policy.allows(request.user, *perm.split("."))]
    if not pages:
        raise PermissionDenied("not allowed: volunteers")
    return render(request, "volunteers/hub.html", {"pages": pages})
