"""Open311 GeoReport v2 endpoints (`/open311/`). They validate, call `services` and render.

GET is public and answers without personal data; POST needs an API key (`api_key` field, or an
`X-API-Key` header). Errors are in the spec's format with the status the spec names: 404 for
what does not exist, 403 for a missing or wrong key, 400 for the rest (429 over the rate limit,
409 for an idempotency key reused for a different request)."""

from django.db.models import Max
from django.views.decorators.csrf import csrf_exempt

from gridgov.cases.models import Item

from . import services
from .render import error, respond
from .services import Open311Error

SPEC = "http://wiki.open311.org/GeoReport_v2"
PUBLIC = {"Access-Control-Allow-Origin": "*"}


def _guarded(fn):
    """Turn Open311Error into the spec's error body; only GET (and POST where allowed)."""

    def view(request, *args, fmt="json", **kwargs):
        try:
            resp = fn(request, *args, fmt=fmt, **kwargs)
        except Open311Error as exc:
            headers = {"Retry-After": "60"} if exc.code == 429 else None
            return error(fmt, exc.code, exc.description, headers=headers)
        return resp

    view.__name__ = fn.__name__
    view.__doc__ = fn.__doc__
    return csrf_exempt(view)


def _only_get(request):
    if request.method not in ("GET", "HEAD"):
        raise Open311Error(400, f"method {request.method} is not allowed here; use GET")


@_guarded
def discovery(request, fmt):
    _only_get(request)
    changed = Item.objects.aggregate(m=Max("updated_at"))["m"]
    changeset = services.w3(changed) if changed else None
    from django.conf import settings

    body = {
        "changeset": changeset,
        "contact": getattr(settings, "OPEN311_CONTACT", "") or "街道网格化服务管理中心",
        "key_service": "API keys are issued by the street's administrators (gridgov apikey create NAME).",
        "endpoints": [
            {
                "specification": SPEC,
                "url": request.build_absolute_uri("/open311/v2"),
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return respond(fmt, "discovery", body, headers=PUBLIC)


@_guarded
def service_list(request, fmt):
    _only_get(request)
    return respond(fmt, "services", services.service_list(), headers=PUBLIC)


@_guarded
def service_definition(request, code, fmt):
    _only_get(request)
    return respond(fmt, "service_definition", services.service_definition(code), headers=PUBLIC)


@_guarded
def requests(request, fmt):
    if request.method == "POST":
        raw = request.POST.get("api_key") or request.headers.get("X-API-Key")
        key = services.authenticate(raw, request)
        services.check_rate(key)
        req, created = services.submit(key, request.POST, idempotency_key=request.headers.get("Idempotency-Key"))
        body = [{
            "service_request_id": req.case.number,
            "service_notice": services.service_notice(req.case.item),
            "account_id": None,
        }]
        # realtime: the id, never a token, in the body; the token (for tokens/{token}) in a header
        return respond(fmt, "service_requests", body, status=201 if created else 200,
                       headers={"X-Open311-Token": str(req.token)})
    _only_get(request)
    found, more = services.search(request.GET)
    headers = dict(PUBLIC)
    if more:  # RFC 8288: the next page, with the same query
        q = request.GET.copy()
        page, _ = services.page_params(request.GET)
        q["page"] = str(page + 1)
        headers["Link"] = f'<{request.build_absolute_uri(request.path)}?{q.urlencode()}>; rel="next"'
        headers["Access-Control-Expose-Headers"] = "Link"
    return respond(fmt, "service_requests", found, headers=headers)


@_guarded
def request_detail(request, number, fmt):
    _only_get(request)
    return respond(fmt, "service_requests", [services.get_request(number)], headers=PUBLIC)


@_guarded
def token(request, token, fmt):
    _only_get(request)
    return respond(fmt, "service_requests", [services.token_lookup(token)], headers=PUBLIC)


@_guarded
def not_found(request, path="", fmt="json"):
    raise Open311Error(404, f"no such Open311 resource: /open311/{path}")


@csrf_exempt
def not_found_any(request, path=""):
    fmt = "xml" if path.endswith(".xml") else "json"
    return not_found(request, path=path, fmt=fmt)
