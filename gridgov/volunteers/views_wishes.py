"""Pages of the wish wall (微心愿).

Phone (/m/volunteer/wishes/, anyone signed in): the wall of cards (open and claimed wishes,
filtered by community and group), posting one's own wish, my wishes (posted and claimed) and a
wish's page with the acts open to me: claim, release, fulfil with a photo (a file input that
opens the camera), confirm or send back, cancel; the claimer sees whom to visit there (audited).

Staff (/volunteers/wishes/, wishes × list): the wishes of the grids in scope with counts per
state, posting for a resident (wishes × create), a wish's page with its history and photo,
whose wish it is only with wishes × personal on its grid, cancel / confirm on the resident's
behalf (wishes × update).

Views validate and call gridgov.volunteers.wishes."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gridgov.geo import levels as gl
from gridgov.accounts import policy
from gridgov.accounts.querysets import within_reach
from gridgov.core import history

from . import wishes
from .models import Wish

m_login_required = login_required(login_url="/m/login/")
#: the history's actions, as the staff page names them
ACTIONS = {"create": gettext_lazy("发布"), "claim": gettext_lazy("认领"), "release": gettext_lazy("放弃认领"),
           "fulfil": gettext_lazy("提交圆梦"), "confirm": gettext_lazy("确认圆梦"), "reject": gettext_lazy("退回"),
           "cancel": gettext_lazy("撤销")}
MAX_UPLOAD = 12 * 1024 * 1024


def _groups():
    from gridgov.registry.models import Resident

    return [(g, _(Resident.TAGS[g])) for g in Resident.SPECIAL_CARE]


def _communities():
    from gridgov.geo.models import GridNode

    return list(GridNode.objects.filter(level=gl.community_level()).order_by("code"))


def _cards(qs):
    names = wishes.community_names()
    return [wishes.card(w, names) | {"wish": w} for w in qs]


# --- phone -----------------------------------------------------------------------------------


def _wall_context(request, **extra):
    community, group = request.GET.get("community", "")[:20], request.GET.get("group", "")[:12]
    cards = _cards(wishes.wall(request.user, community=community, group=group)[:100])
    for c in cards:
        c["may_claim"] = wishes.may_claim(request.user, c["wish"])
    ctx = {"tab": "volunteer", "cards": cards,
           "communities": _communities(), "groups": _groups(), "community": community, "group": group,
           "claimer_kinds": Wish.Claimer.choices}
    ctx.update(extra)
    return ctx


@m_login_required
def m_wall(request):
    return render(request, "volunteers/m_wishes_wall.html", _wall_context(request))


@m_login_required
def m_new(request):
    """Post a wish for myself. The grid is my registry resident's (linked by my phone) or the
    point I give (the phone's location, filled in by the page)."""
    linked = wishes.registry_resident_of(request.user)
    ctx = {"tab": "volunteer", "groups": _groups(), "linked": linked, "form": {}}
    if request.method == "POST":
        p = request.POST
        ctx["form"] = p
        try:
            wish = wishes.post_own(request.user, p.get("title", ""), p.get("description", ""), p.get("group", ""),
                                   lon=p.get("lon") or None, lat=p.get("lat") or None,
                                   crs=p.get("crs") or "wgs84")
        except wishes.WishError as exc:
            ctx["error"] = str(exc)
            return render(request, "volunteers/m_wishes_new.html", ctx, status=exc.status)
        return redirect(f"/m/volunteer/wishes/{wish.pk}/?posted=1")
    return render(request, "volunteers/m_wishes_new.html", ctx)


@m_login_required
def m_mine(request):
    return render(request, "volunteers/m_wishes_mine.html", {
        "tab": "volunteer",
        "posted": _cards(wishes.posted_by(request.user)[:100]),
        "claimed": _cards(wishes.claimed_by(request.user)[:100]),
    })


def _detail_context(request, wish, **extra):
    user = request.user
    ctx = {
        "tab": "volunteer", "wish": wish, "card": wishes.card(wish), "claimer_kinds": Wish.Claimer.choices,
        "is_owner": wishes.is_owner(user, wish) or wishes.is_poster(user, wish),
        "is_claimer": wish.claimed_by_id == user.pk and wish.state != Wish.State.OPEN,
        "may_claim": wishes.may_claim(user, wish),
        "may_confirm": wish.state == Wish.State.FULFILLED and wishes.may_confirm(user, wish),
        "may_cancel": wish.state in (Wish.State.OPEN, Wish.State.CLAIMED) and wishes.may_cancel(user, wish),
        "may_photo": bool(wish.photo) and wishes.may_see_photo(user, wish),
        "posted": request.GET.get("posted") == "1",
    }
    # the claimer needs to know whom to visit (audited); the owner sees their own
    if wish.state in (Wish.State.CLAIMED, Wish.State.FULFILLED) and wish.claimed_by_id == user.pk:
        ctx["person"] = wishes.person(user, wish)
    ctx.update(extra)
    return ctx


@m_login_required
def m_detail(request, pk):
    try:
        wish = wishes.get(pk)
    except wishes.NotFound:
        raise Http404(_("没有这个心愿")) from None
    return render(request, "volunteers/m_wishes_detail.html", _detail_context(request, wish))


def _act(request, pk, fn, *args, back="/m/volunteer/wishes/{pk}/", template="volunteers/m_wishes_detail.html",
         context=None, **kwargs):
    try:
        fn(request.user, pk, *args, **kwargs)
    except wishes.WishError as exc:
        try:
            wish = wishes.get(pk)
        except wishes.NotFound:
            raise Http404(str(exc)) from None
        ctx = (context or _detail_context)(request, wish, error=str(exc))
        return render(request, template, ctx, status=exc.status)
    return redirect(back.format(pk=pk))


@m_login_required
@require_POST
def m_claim(request, pk):
    return _act(request, pk, wishes.claim, request.POST.get("kind", Wish.Claimer.VOLUNTEER), request.POST.get("unit", ""))


@m_login_required
@require_POST
def m_release(request, pk):
    return _act(request, pk, wishes.release, request.POST.get("reason", ""))


@m_login_required
@require_POST
def m_fulfil(request, pk):
    f = request.FILES.get("photo")
    data = f.read(MAX_UPLOAD + 1) if f else None
    return _act(request, pk, wishes.fulfil, data, request.POST.get("note", ""))


@m_login_required
@require_POST
def m_confirm(request, pk):
    return _act(request, pk, wishes.confirm)


@m_login_required
@require_POST
def m_reject(request, pk):
    return _act(request, pk, wishes.reject, request.POST.get("reason", ""))


@m_login_required
@require_POST
def m_cancel(request, pk):
    return _act(request, pk, wishes.cancel, request.POST.get("reason", ""))


@login_required
def photo(request, pk):
    """The fulfilment photo: the owner, the poster, the claimer and staff in scope."""
    wish = Wish.objects.select_related("node").filter(pk=pk).first()
    if wish is None or not wish.photo or not wishes.may_see_photo(request.user, wish):
        raise Http404(_("没有这张照片"))
    return FileResponse(wish.photo.open("rb"), content_type=wish.photo_type or "image/jpeg")


# --- staff -----------------------------------------------------------------------------------


def _require_list(user):
    if not policy.allows(user, "wishes", "list"):
        raise PermissionDenied(_("该页面仅限工作人员"))


@login_required
def staff_list(request):
    _require_list(request.user)
    qs = wishes.staff_wishes(request.user)
    group = request.GET.get("group", "")[:12]
    if group:
        qs = qs.filter(group=group)
    counts = wishes.counts(qs)
    state = request.GET.get("state", "")
    if state in Wish.State.values:
        qs = qs.filter(state=state)
    rows = []
    names = wishes.community_names()
    for w in qs[:300]:
        rows.append({"wish": w, "card": wishes.card(w, names),
                     "personal": policy.allows(request.user, "wishes", "personal", w.node.path)})
    return render(request, "volunteers/wishes_list.html", {
        "rows": rows, "counts": [(s, label, counts[s]) for s, label in Wish.State.choices],
        "total": sum(counts.values()), "state": state, "group": group, "groups": _groups(),
        "may_create": policy.allows(request.user, "wishes", "create"),
    })


def _residents_for(user):
    """The residents a worker may post for: the special-care residents of the grids in scope."""
    from gridgov.registry.models import Resident

    qs = within_reach(Resident.objects.filter(ended_on__isnull=True, grid__isnull=False).select_related("grid"),
                      user, "wishes", "create", "grid__path")
    care = [r for r in qs.order_by("grid__path", "name")[:2000] if r.special_care][:500]
    for r in care:
        r.care_labels = "、".join(str(_(Resident.TAGS[t])) for t in r.special_care)
    return care


@login_required
def staff_new(request):
    """A grid worker posts a wish for a resident (wishes × create on the resident's grid)."""
    if not policy.allows(request.user, "wishes", "create"):
        raise PermissionDenied(_("无权代居民发布心愿"))
    ctx = {"groups": _groups(), "residents": _residents_for(request.user), "form": {}}
    if request.method == "POST":
        p = request.POST
        ctx["form"] = p
        try:
            wish = wishes.post_for(request.user, p.get("resident", ""), p.get("title", ""), p.get("description", ""),
                                   p.get("group", ""))
        except wishes.WishError as exc:
            ctx["error"] = str(exc)
            return render(request, "volunteers/wishes_new.html", ctx, status=exc.status)
        return redirect(f"/volunteers/wishes/{wish.pk}/")
    return render(request, "volunteers/wishes_new.html", ctx)


def _staff_detail_context(request, wish, **extra):
    user = request.user
    personal = policy.allows(user, "wishes", "personal", wish.node.path)
    ctx = {
        "wish": wish, "card": wishes.card(wish),
        "personal": wishes.person(user, wish) if personal else None,
        "history": [(c, ACTIONS.get(c.action, c.action)) for c in history.for_object("wishes", wish.pk).order_by("at", "id")],
        "may_confirm": wish.state == Wish.State.FULFILLED and wishes.may_confirm(user, wish),
        "may_cancel": wish.state in (Wish.State.OPEN, Wish.State.CLAIMED) and wishes.may_cancel(user, wish),
        "may_photo": bool(wish.photo),
    }
    ctx.update(extra)
    return ctx


def _staff_wish(request, pk):
    _require_list(request.user)
    wish = wishes.staff_wishes(request.user).filter(pk=pk).first()
    if wish is None:
        raise Http404(_("没有这个心愿"))
    return wish


@login_required
def staff_detail(request, pk):
    wish = _staff_wish(request, pk)
    return render(request, "volunteers/wishes_detail.html", _staff_detail_context(request, wish))


def _staff_act(request, pk, fn, *args):
    _staff_wish(request, pk)
    return _act(request, pk, fn, *args, back="/volunteers/wishes/{pk}/", template="volunteers/wishes_detail.html",
                context=_staff_detail_context)


@login_required
@require_POST
def staff_cancel(request, pk):
    return _staff_act(request, pk, wishes.cancel, request.POST.get("reason", ""))


@login_required
@require_POST
def staff_confirm(request, pk):
    return _staff_act(request, pk, wishes.confirm)


@login_required
@require_POST
def staff_reject(request, pk):
    return _staff_act(request, pk, wishes.reject, request.POST.get("reason", ""))
