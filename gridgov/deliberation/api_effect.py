"""API of deliberation (effect), at /api/deliberation/effect. Views validate and call
gridgov.deliberation.effect; errors answer {"detail": the Chinese message, "code": a stable code}
(core.errors.api_error).

* GET "" (or "/")   the decided topics of the grids in scope (deliberation × list), each with its
  verdict and sentence (?community=<id>); 403 without deliberation × list
* GET /{topic_id}   a topic's effect (any topic the user may read: services.get_topic): the
  months' counts, the means, the change, the permutation test, the reference and the limits"""

from django.utils.translation import gettext_lazy as _
from ninja import Router

from gridgov.accounts import policy
from gridgov.accounts.querysets import within_reach
from gridgov.core.errors import api_error

from . import effect as fx
from . import services
from .models import Topic

router = Router(tags=["deliberation"])


def _brief(topic: Topic, result: dict) -> dict:
    return {"id": topic.pk, "title": topic.title, "community": topic.community.name, "state": topic.state,
            "decided_at": topic.decided_at.isoformat() if topic.decided_at else None,
            "problem_place": topic.problem_place, "problem_category": topic.problem_category,
            "verdict": result["verdict"], "sentence": result["sentence"], "change": result["change"],
            "p": (result["test"] or {}).get("p"),
            "before_mean": (result["before"] or {}).get("mean"), "after_mean": (result["after"] or {}).get("mean")}


@router.get("", response={200: dict, 403: dict})
@router.get("/", response={200: dict, 403: dict}, include_in_schema=False)
def decided(request, community: int | None = None, limit: int = 200):
    """The decided topics of the grids in scope with their verdicts."""
    if not policy.allows(request.user, services.KIND, "list"):
        return api_error(services.Forbidden(_("您不能查看议事效果")))
    limit = max(1, min(limit, 500))
    qs = within_reach(Topic.objects.filter(decided_at__isnull=False), request.user, services.KIND, "list", "node__path")
    if community is not None:
        qs = qs.filter(community_id=community)
    qs = qs.select_related("community").order_by("-decided_at", "-id")[:limit]
    cache = {}
    items = []
    for t in qs:
        items.append(_brief(t, fx.effect(t, _cache=cache)))
    counts = dict.fromkeys(fx.VERDICTS, 0)
    for it in items:
        counts[it["verdict"]] += 1
    return {"counts": counts, "items": items}


@router.get("/{topic_id}", response={200: dict, 404: dict})
def topic_effect(request, topic_id: int):
    """Whether the decision on a topic changed its problem's monthly count."""
    try:
        topic = services.get_topic(request.user, topic_id)
    except services.DeliberationError as exc:
        return api_error(exc)
    result = fx.effect(topic)
    return {**result, "title": topic.title, "label": fx.verdict_label(result["verdict"])}
