"""Pages of 居民提、楼长集.

Phone (/m/deliberation/, signed in): the hub of the phone section (the topics of my compound
and community, mine, a button to propose), proposing (?b=<token> from a building's QR code
names the building), a steward's page (my buildings' proposals: merge, note, forward, enter one
for a neighbour) and the acts of the topic page's include (support, comment, withdraw, ...).

Staff (/deliberation/proposals/): the held comments (deliberation × moderate), the buildings'
QR codes of a compound in scope, entering a topic from a letterbox slip or a home visit
(deliberation × create) and the acts of the staff topic page's include (note, merge, release
or reject a comment).

Views validate and call gridgov.deliberation.proposals."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts import policy
from gridgov.accounts.decorators import staff_required
from gridgov.accounts.querysets import within_reach

from . import proposals, services
from .models import Topic

m_login_required = login_required(login_url="/m/login/")


def _next(request, default, prefix):
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    return nxt if nxt.startswith(prefix) and "//" not in nxt else default


def _act(request, fn, *args, default, prefix, template, **kwargs):
    try:
        fn(request.user, *args, **kwargs)
    except services.DeliberationError as exc:
        return render(request, template, {"error": str(exc), "back": _next(request, default, prefix),
                                          "tab": "deliberation"}, status=exc.status)
    return redirect(_next(request, default, prefix))


# --- phone -----------------------------------------------------------------------------------


@m_login_required
def m_home(request):
    mine, compound, community = proposals.home_topics(request.user)
    return render(request, "deliberation/m_proposals_home.html", {
        "tab": "deliberation", "mine": mine[:50], "compound_topics": compound[:50], "community_topics": community[:50],
        "home": services.home_of(request.user), "is_steward": bool(services.steward_building_ids(request.user)),
    })


@m_login_required
def m_propose(request):
    token = (request.POST.get("b") or request.GET.get("b") or "").strip()
    ctx = {"tab": "deliberation", "token": token, "form": {}, "building": None,
           "max_body": proposals.MAX_BODY}
    if token:
        try:
            ctx["building"] = proposals.building_from_token(token)
        except services.DeliberationError as exc:
            ctx["token_error"], ctx["token"] = str(exc), ""
    else:
        ctx["home"] = services.home_of(request.user)
    if request.method == "POST":
        p = request.POST
        ctx["form"] = p
        try:
            topic = proposals.propose(request.user, title=p.get("title", ""), body=p.get("body", ""),
                                      token=ctx["token"] or None)
        except services.DeliberationError as exc:
            ctx["error"] = str(exc)
            return render(request, "deliberation/m_proposals_propose.html", ctx, status=exc.status)
        return redirect(f"/m/deliberation/topics/{topic.pk}/?proposed=1")
    return render(request, "deliberation/m_proposals_propose.html", ctx)


def _steward_residents(building_ids):
    from gridgov.registry.models import Resident

    return list(Resident.objects.filter(house__building_id__in=building_ids, ended_on__isnull=True)
                .select_related("house__building").order_by("house__building_id", "name")[:300])


@m_login_required
def m_steward(request):
    """The steward's page: my buildings' proposals being collected (merge, note, forward) and
    entering one for a neighbour."""
    from gridgov.registry.models import Building

    ids = services.steward_building_ids(request.user)
    if not ids:
        raise PermissionDenied(_("该页面仅限楼门长"))
    topics = list(proposals.stewarded(request.user)[:100])
    rows = []
    for t in topics:
        dups = [d for d in proposals.duplicates_of(t, limit=3) if d["topic"].building_id in ids]
        rows.append({"topic": t, "duplicates": dups, "others": [o for o in topics if o.pk != t.pk],
                     "may_forward": services.may_advance(request.user, t)})
    ctx = {"tab": "deliberation", "rows": rows, "buildings": list(Building.objects.filter(pk__in=ids)
                                                                    .select_related("compound")),
           "residents": _steward_residents(ids), "form": {},
           "channels": [(c, label) for c, label in Topic.Channel.choices if c in proposals.STEWARD_CHANNELS]}
    if request.method == "POST":
        p = request.POST
        ctx["form"] = p
        try:
            proposals.enter_for(request.user, title=p.get("title", ""), body=p.get("body", ""),
                                building=p.get("building") or None, resident=p.get("resident") or None,
                                person_name=p.get("person_name", ""), channel=p.get("channel") or Topic.Channel.STEWARD)
        except services.DeliberationError as exc:
            ctx["error"] = str(exc)
            return render(request, "deliberation/m_proposals_steward.html", ctx, status=exc.status)
        return redirect("/m/deliberation/steward/?entered=1")
    ctx["entered"] = request.GET.get("entered") == "1"
    return render(request, "deliberation/m_proposals_steward.html", ctx)


def _m(request, pk, fn, *args, **kwargs):
    return _act(request, fn, pk, *args, default=f"/m/deliberation/topics/{pk}/", prefix="/m/deliberation/",
                template="deliberation/m_proposals_error.html", **kwargs)


@m_login_required
@require_POST
def m_support(request, pk):
    return _m(request, pk, proposals.support)


@m_login_required
@require_POST
def m_unsupport(request, pk):
    return _m(request, pk, proposals.unsupport)


@m_login_required
@require_POST
def m_comment(request, pk):
    return _m(request, pk, proposals.comment, request.POST.get("text", ""))


@m_login_required
@require_POST
def m_note(request, pk):
    return _m(request, pk, proposals.add_note, request.POST.get("text", ""))


@m_login_required
@require_POST
def m_merge(request, pk):
    return _m(request, pk, proposals.merge, request.POST.get("into", ""))


@m_login_required
@require_POST
def m_forward(request, pk):
    return _m(request, pk, proposals.forward, request.POST.get("note", ""))


@m_login_required
@require_POST
def m_withdraw(request, pk):
    return _m(request, pk, proposals.withdraw)


# --- staff -----------------------------------------------------------------------------------


def _s(request, pk, fn, *args, **kwargs):
    return _act(request, fn, pk, *args, default=f"/deliberation/topics/{pk}/", prefix="/deliberation/",
                template="deliberation/proposals_error.html", **kwargs)


@staff_required
def held(request):
    """The moderation queue: held comments of the grids I moderate."""
    if not policy.allows(request.user, services.KIND, "moderate"):
        raise PermissionDenied(_("无权审核议事评论"))
    return render(request, "deliberation/proposals_held.html",
                  {"comments": list(proposals.held_comments(request.user)[:300])})


@staff_required
def qr(request):
    """The buildings' QR codes of a compound in scope, to print and post in each building."""
    from gridgov.registry.models import Compound

    if not policy.allows(request.user, services.KIND, "list"):
        raise PermissionDenied(_("该页面仅限工作人员"))
    compounds = proposals.compounds_for_qr(request.user)
    ctx = {"compounds": compounds[:1000], "codes": [], "compound": None}
    pk = request.GET.get("compound", "")
    if pk:
        compound = Compound.objects.filter(pk=int(pk) if pk.isdigit() else -1).select_related("community").first()
        if compound is None:
            raise Http404(_("没有这个小区"))
        try:
            ctx["codes"] = proposals.building_codes(request, compound)
        except services.Forbidden as exc:
            raise PermissionDenied(str(exc)) from None
        ctx["compound"] = compound
    return render(request, "deliberation/proposals_qr.html", ctx)


@staff_required
def enter(request):
    """Staff enter a topic from a letterbox slip, a home visit or the office (deliberation ×
    create on the building's grid)."""
    from gridgov.registry.models import Building

    if not policy.allows(request.user, services.KIND, "create"):
        raise PermissionDenied(_("无权代录议题"))
    buildings = within_reach(Building.objects.filter(ended_on__isnull=True).select_related("compound"),
                             request.user, services.KIND, "create", "grid__path").order_by("compound__name", "name")[:1000]
    ctx = {"buildings": buildings, "form": {},
           "channels": [(c, label) for c, label in Topic.Channel.choices if c in proposals.STAFF_CHANNELS]}
    if request.method == "POST":
        p = request.POST
        ctx["form"] = p
        try:
            topic = proposals.enter_for(request.user, title=p.get("title", ""), body=p.get("body", ""),
                                        building=p.get("building") or None, resident=p.get("resident") or None,
                                        person_name=p.get("person_name", ""),
                                        channel=p.get("channel") or Topic.Channel.LETTERBOX)
        except services.DeliberationError as exc:
            ctx["error"] = str(exc)
            return render(request, "deliberation/proposals_enter.html", ctx, status=exc.status)
        return redirect(f"/deliberation/topics/{topic.pk}/")
    return render(request, "deliberation/proposals_enter.html", ctx)


@staff_required
@require_POST
def note(request, pk):
    return _s(request, pk, proposals.add_note, request.POST.get("text", ""))


@staff_required
@require_POST
def merge(request, pk):
    return _s(request, pk, proposals.merge, request.POST.get("into", ""))


def _comment_act(request, cid, fn, *args):
    try:
        c = fn(request.user, cid, *args)
    except services.DeliberationError as exc:
        return render(request, "deliberation/proposals_error.html",
                      {"error": str(exc), "back": _next(request, "/deliberation/proposals/held/", "/deliberation/")},
                      status=exc.status)
    return redirect(_next(request, f"/deliberation/topics/{c.topic_id}/", "/deliberation/"))


@staff_required
@require_POST
def release(request, cid):
    return _comment_act(request, cid, proposals.release_comment)


@staff_required
@require_POST
def reject(request, cid):
    return _comment_act(request, cid, proposals.reject_comment, request.POST.get("reason", ""))
