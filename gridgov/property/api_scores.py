"""API of the property alliance (scores), at /api/property/scores. Views validate and call
gridgov.property.scores; errors answer {"detail": the Chinese message, "code": a stable code}
(core.errors.api_error) with 400 / 403 / 409.

* GET ""?quarter=YYYY-QN        the quarter's scores computed now from history (default: the last
                                finished quarter), the rows of the projects the user sees (street
                                staff per property × list; a company's users its projects), the
                                street's ranks; each row as `gridgov property scores --json`
* GET /published?quarter=       the quarter's published ranking (ScoreSnapshot rows in scope)
* POST /publish                 {quarter, force}: publish the quarter (property × update over
                                every ranked project; force for a quarter not over yet)"""

from ninja import Router, Schema

from gridgov.core.errors import api_error

from . import scores, services

router = Router(tags=["property"])

ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}


def _quarter(raw):
    return services.quarter_key(raw) if raw else scores.last_finished_quarter()


def _forbidden():
    from django.utils.translation import gettext_lazy as _

    return api_error(services.Forbidden(_("您不能查看物业考评")))


@router.get("", response={200: dict, **ERRORS})
@router.get("/", response={200: dict, **ERRORS}, include_in_schema=False)
def computed(request, quarter: str = ""):
    """The quarter's scores of the projects in scope, computed from history."""
    if not scores.may_see(request.user):
        return _forbidden()
    try:
        q = _quarter(quarter)
    except services.PropertyError as exc:
        return api_error(exc)
    rows = scores.compute(q, user=request.user)
    return {"quarter": q, "finished": scores.is_finished(q), "published": scores.is_published(q),
            "rows": scores.plain(rows)}


def _snapshot(s) -> dict:
    return {"project": s.project_id, "name": s.project.name, "company": s.project.company.name, "rank": s.rank,
            "inspection_score": scores.plain(s.inspection_score), "data_score": scores.plain(s.data_score),
            "composite": scores.plain(s.composite), "published_at": s.published_at.isoformat(),
            "detail": s.detail}


@router.get("/published", response={200: dict, **ERRORS})
def published(request, quarter: str = ""):
    """The quarter's ranking as announced."""
    if not scores.may_see(request.user):
        return _forbidden()
    try:
        q = _quarter(quarter)
    except services.PropertyError as exc:
        return api_error(exc)
    rows = [_snapshot(s) for s in scores.published(q, request.user)]
    return {"quarter": q, "published": scores.is_published(q), "rows": rows}


class PublishIn(Schema):
    quarter: str
    force: bool = False


@router.post("/publish", response={200: dict, **ERRORS})
def publish(request, data: PublishIn):
    """Publish a quarter's scores (replacing an earlier publication of it)."""
    try:
        snaps = scores.publish(request.user, data.quarter, force=data.force)
    except services.PropertyError as exc:
        return api_error(exc)
    return {"quarter": services.quarter_key(data.quarter), "published": len(snaps)}
