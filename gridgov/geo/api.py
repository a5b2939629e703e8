"""Geo API: which grids contain a point, and the grid polygons a user may see."""

import math

from django.http import Http404
from ninja import Router
from ninja.errors import HttpError

from . import services
from .levels import level_index, level_names
from .locator import locate_point
from .models import GridNode

router = Router(tags=["geo"])


@router.get("/locate")
def locate(request, lon: float, lat: float, crs: str = "wgs84"):
    """The chain of grids (street first) containing the point; `crs` is wgs84, gcj02 or bd09.

    Any signed-in user may ask (a resident reporting a problem needs its grid); grid names and
    codes are not base data."""
    if not (math.isfinite(lon) and math.isfinite(lat)):  # NaN/Infinity parse as floats, and are no JSON
        raise HttpError(422, "lon, lat：经纬度须为有限数")
    try:
        chain = locate_point(lon, lat, crs)
    except ValueError as e:
        raise HttpError(422, str(e))
    names = level_names()
    return {
        "lon": lon,
        "lat": lat,
        "crs": crs,
        "grids": [
            {
                "code": r.code,
                "name": r.name,
                "level": r.level,
                "level_name": names[r.level] if r.level < len(names) else str(r.level),
            }
            for r in chain
        ],
    }


@router.get("/grids")
def grids(request, level: str | None = None):
    """GeoJSON FeatureCollection of the grids visible to the user, optionally of one level (name or number)."""
    from gridgov.accounts.policy import api_require

    api_require(request, "grids", "list")
    try:
        lv = level_index(level) if level not in (None, "") else None
    except ValueError as e:
        raise HttpError(422, str(e))
    return services.export_grids(GridNode.objects.visible_to(request.user), level=lv)


@router.get("/grids/{code}")
def grid(request, code: str):
    """One grid as a GeoJSON Feature; 404 when it does not exist or is not visible to the user."""
    node = GridNode.objects.visible_to(request.user).select_related("parent").filter(code=code).first()
    if node is None:
        raise Http404("no such grid")
    return services.node_feature(node)
