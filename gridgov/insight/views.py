"""The map, the dashboard and the big screen: pages only; their data comes from
`gridgov.insight.api` (fetched by the page's script, as the content security policy wants)."""

from django.conf import settings
from django.shortcuts import render

from gridgov.accounts.decorators import staff_required
from gridgov.geo import levels as gl
from gridgov.geo.coords import wgs84_to_gcj02
from gridgov.geo.models import GridNode

from .api import may_edit_grid


def _config(request, shift=True):
    street = GridNode.objects.visible_to(request.user).order_by("level", "code").values(
        "name", "min_lon", "min_lat", "max_lon", "max_lat").first()
    crs = getattr(settings, "MAP_TILE_CRS", "wgs84")
    crs = crs if crs in ("wgs84", "gcj02") else "wgs84"
    if street and street["min_lon"] is not None and crs == "gcj02" and shift:  # the basemap's coordinates
        street["min_lon"], street["min_lat"] = wgs84_to_gcj02(street["min_lon"], street["min_lat"])
        street["max_lon"], street["max_lat"] = wgs84_to_gcj02(street["max_lon"], street["max_lat"])
    return {
        "street_name": street["name"] if street else "",
        "tile_url": getattr(settings, "MAP_TILE_URL", ""),
        "crs": crs,
        "bounds": [[street["min_lat"], street["min_lon"]], [street["max_lat"], street["max_lon"]]] if street and street["min_lon"] is not None else None,
        "can_edit": may_edit_grid(request.user),
    }


@staff_required
def map_page(request):
    return render(request, "insight/map.html", {"config": {**_config(request), "street_level": gl.street_level()},
                                                 "levels": grid_layers()})


def grid_layers() -> list[dict]:
    """The map's grid layers: the streets when the install has several, then every level below
    the street by its configured name; the streets (or the communities) and the next level
    shown at first."""
    top = gl.street_level() if gl.multi_street() else gl.community_level()
    return [{"name": gl.level_names()[i], "label": gl.level_label(i), "checked": i <= top + 1}
            for i in range(top, gl.finest_level() + 1)]


# the dashboards' hot-spot map has no basemap: it stays in WGS-84 whatever the tiles are


@staff_required
def dashboard(request):
    return render(request, "insight/dashboard.html", {"config": {**_config(request, shift=False), "screen": False},
                                                      "by_street": gl.multi_street()})


@staff_required
def screen(request):
    return render(request, "insight/screen.html", {"config": {**_config(request, shift=False), "screen": True, "refresh_s": 60},
                                                   "by_street": gl.multi_street()})
