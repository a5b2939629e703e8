"""The Open311 API keys page (/apikeys/): list, create (the key shown once), revoke, set a key's
rate. Who may: the policy table's kind "apikeys" (administrators). The views validate and call
open311.services; every change keeps a history row (core.history, kind "apikeys")."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts import policy
from gridgov.core.models import ChangeRecord
from gridgov.open311 import services
from gridgov.open311.models import ApiKey


def _page(request, status=200, **extra):
    keys = list(ApiKey.objects.select_related("created_by").order_by("revoked", "name"))
    # the latest changes of every key (core.history, kind "apikeys")
    recent = ChangeRecord.objects.filter(kind="apikeys").select_related("actor")[:30]
    names = {str(k.pk): k.name for k in keys}
    return render(request, "web/apikeys.html", {
        "keys": keys, "recent": recent, "names": names,
        "may_create": policy.allows(request.user, "apikeys", "create"),
        "may_update": policy.allows(request.user, "apikeys", "update"), **extra,
    }, status=status)


def _rate(raw) -> int:
    try:
        rate = int(str(raw).strip())
    except ValueError:
        raise ValueError(_("速率请填写整数（0 表示不限）")) from None
    if rate < 0 or rate > 100_000:
        raise ValueError(_("速率请填写 0 到 100000 之间的整数（0 表示不限）"))
    return rate


@login_required
def apikeys(request):
    """GET: the keys (never a key itself, only its prefix). POST: create one; the key is in this
    answer only (not stored: only its SHA-256 is kept)."""
    if request.method != "POST":
        policy.require(request.user, "apikeys", "list")
        return _page(request)
    policy.require(request.user, "apikeys", "create")
    try:
        rate = _rate(request.POST.get("rate_per_minute", "60"))
        key, raw = services.create_key(request.POST.get("name", ""), created_by=request.user, rate_per_minute=rate,
                                       can_submit=request.POST.get("read_only") != "1")
    except ValueError as exc:
        return _page(request, status=400, error=str(exc).split(": ", 1)[-1], form=request.POST)
    return _page(request, status=201, created=key, secret=raw)


@login_required
@require_POST
def apikey_action(request, pk, action):
    """revoke, or rate (rate_per_minute): policy "apikeys" × "update"."""
    policy.require(request.user, "apikeys", "update")
    key = ApiKey.objects.filter(pk=pk).first()
    if key is None or action not in ("revoke", "rate"):
        raise Http404(_("没有这个密钥"))
    try:
        if action == "revoke":
            services.revoke_key(key.prefix, by=request.user)
            done = _("已吊销密钥 %(name)s") % {"name": key.name}
        else:
            services.set_rate(key, _rate(request.POST.get("rate_per_minute", "")), by=request.user)
            done = _("已修改密钥 %(name)s 的速率") % {"name": key.name}
    except ValueError as exc:
        return _page(request, status=400, error=str(exc))
    return _page(request, done=done)
