"""Pages of whether it worked (the effect measure).

Staff (/deliberation/effect/, deliberation × list): the community's record, every decided topic
of the grids in scope with its verdict, the means before and after, the change and p, the
verdicts counted; ?community= narrows it to one community.

Phone (/m/deliberation/effect/, anyone signed in): the decided topics the resident may read
(their compound's and community's), each with its plain sentence and chart.

Views validate and call gridgov.deliberation.effect."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _

from gridgov.geo import levels as gl
from gridgov.accounts import policy
from gridgov.accounts.decorators import staff_required
from gridgov.accounts.querysets import within_reach

from . import effect as fx
from . import services

m_login_required = login_required(login_url="/m/login/")


def _communities(user):
    from gridgov.geo.models import GridNode

    return list(within_reach(GridNode.objects.filter(level=gl.community_level()), user, services.KIND, "list", "path").order_by("code"))


def _rows(items):
    return [{**it, "label": fx.verdict_label(it["effect"]["verdict"]), "chart": fx.chart(it["effect"])} for it in items]


@staff_required
def staff_list(request):
    if not policy.allows(request.user, services.KIND, "list"):
        raise PermissionDenied(_("您不能查看议事效果"))
    communities = _communities(request.user)
    community = None
    raw = request.GET.get("community", "")
    if raw.isdigit():
        community = next((c for c in communities if c.pk == int(raw)), None)
    items = fx.decided_effects(request.user, community)
    return render(request, "deliberation/effect_list.html", {
        "items": _rows(items), "counts": fx.summary(items), "communities": communities, "community": community,
        "labels": {v: fx.verdict_label(v) for v in fx.VERDICTS},
    })


@m_login_required
def m_list(request):
    items = [it for it in fx.decided_effects(request.user) if it["effect"]["verdict"] != "no_problem"]
    return render(request, "deliberation/m_effect_list.html", {"items": _rows(items), "tab": "deliberation"})
