"""The two geo services cases rely on, behind the calls the geo app provides.

`locate(lon, lat)` is `gridgov.geo.locator.get_locator().locate(lon, lat)` (NodeRefs, street
first); `to_wgs84(lon, lat, crs)` is `gridgov.geo.coords.to_wgs84`. When this tree does not
carry those modules yet, small fallbacks stand in: a loop over GridNode polygons with shapely,
and the standard GCJ-02 → WGS-84 inversion. Remove the fallbacks once geo is merged."""

import math
from typing import NamedTuple


class NodeRef(NamedTuple):
    id: int
    code: str
    name: str
    level: int
    path: str


class _FallbackLocator:
    """Point-in-polygon over every GridNode (fine for tests and small streets)."""

    def locate(self, lon: float, lat: float) -> list:
        from shapely.geometry import Point

        from gridgov.geo.models import GridNode

        p = Point(lon, lat)
        found = {}
        for node in GridNode.objects.exclude(geom_wkt="").filter(
            min_lon__lte=lon, max_lon__gte=lon, min_lat__lte=lat, max_lat__gte=lat
        ).order_by("level", "code"):
            if node.level not in found and node.geometry().covers(p):
                found[node.level] = NodeRef(node.id, node.code, node.name, node.level, node.path)
        return [found[k] for k in sorted(found)]


def get_locator():
    try:
        from gridgov.geo.locator import get_locator as geo_get_locator
    except ImportError:
        return _FallbackLocator()
    return geo_get_locator()


def locate(lon: float, lat: float) -> list:
    return get_locator().locate(lon, lat)


# --- coordinates ------------------------------------------------------------------------------

_A = 6378245.0
_EE = 0.00669342162296594323


def _out_of_china(lon, lat):
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _tlat(x, y):
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _tlon(x, y):
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def _wgs84_to_gcj02(lon, lat):
    if _out_of_china(lon, lat):
        return lon, lat
    dlat, dlon = _tlat(lon - 105.0, lat - 35.0), _tlon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sq = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sq) * math.pi)
    dlon = (dlon * 180.0) / (_A / sq * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def _gcj02_to_wgs84(lon, lat):
    """Invert the GCJ-02 offset by fixed-point iteration (error < 1 mm after a few rounds)."""
    if _out_of_china(lon, lat):
        return lon, lat
    x, y = lon, lat
    for _ in range(10):
        gx, gy = _wgs84_to_gcj02(x, y)
        dx, dy = gx - lon, gy - lat
        x, y = x - dx, y - dy
        if abs(dx) < 1e-10 and abs(dy) < 1e-10:
            break
    return x, y


def to_wgs84(lon: float, lat: float, crs: str = "wgs84") -> tuple[float, float]:
    try:
        from gridgov.geo.coords import to_wgs84 as geo_to_wgs84
    except ImportError:
        key = (crs or "wgs84").strip().lower().replace("-", "").replace("_", "")
        if key == "wgs84":
            return float(lon), float(lat)
        if key == "gcj02":
            return _gcj02_to_wgs84(float(lon), float(lat))
        raise ValueError(f"unknown coordinate system {crs!r}; use wgs84 or gcj02")
    return geo_to_wgs84(lon, lat, crs)
