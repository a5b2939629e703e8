"""Coordinate systems used by Chinese map services, and conversions to WGS-84.

- WGS-84 (``"wgs84"``): GPS, GeoJSON, OpenStreetMap; what grid polygons are stored in.
- GCJ-02 (``"gcj02"``): the obfuscated system mandated for maps published in China; WeChat
  (``wx.getLocation`` with type gcj02), AMap (高德) and Tencent maps give it. Outside China
  (the usual bounding box below) GCJ-02 equals WGS-84.
- BD-09 (``"bd09"``): Baidu's further offset of GCJ-02.

WGS-84 → GCJ-02 and GCJ-02 ↔ BD-09 are the published closed forms; their inverses have no
closed form, so ``gcj02_to_wgs84`` and ``bd09_to_gcj02`` iterate a fixed point from the usual
one-step approximation until the forward transform reproduces the input within 1e-10 degree
(about 0.01 mm), so round trips are exact to far better than 0.01 m.

Every function takes scalars (and returns a tuple of floats); the ``*_np`` variants take and
return numpy arrays for batches."""

import numpy as np

__all__ = [
    "CRS_NAMES",
    "out_of_china",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "to_wgs84",
    "wgs84_to_gcj02_np",
    "gcj02_to_wgs84_np",
    "gcj02_to_bd09_np",
    "bd09_to_gcj02_np",
    "wgs84_to_bd09_np",
    "bd09_to_wgs84_np",
    "to_wgs84_np",
]

CRS_NAMES = ("wgs84", "gcj02", "bd09")

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 algorithm.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
_TOL = 1e-10  # degrees
_MAX_ITER = 30


def _out_of_china(lon, lat):
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def out_of_china(lon: float, lat: float) -> bool:
    """The bounding box in which GCJ-02 applies (the same rough box as coordtransform/eviltransform)."""
    return bool(_out_of_china(lon, lat))


def _transform_lat(x, y):
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x, y):
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _arrays(lon, lat):
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.shape != lat.shape:
        raise ValueError(f"lon and lat differ in shape: {lon.shape} vs {lat.shape}")
    return lon, lat


def _gcj_delta(lon, lat):
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = np.sin(radlat)
    magic = 1 - _EE * magic * magic
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02_np(lon, lat):
    lon, lat = _arrays(lon, lat)
    dlon, dlat = _gcj_delta(lon, lat)
    outside = _out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def gcj02_to_wgs84_np(lon, lat):
    lon, lat = _arrays(lon, lat)
    outside = _out_of_china(lon, lat)
    # Fixed point of w = g - delta(w), starting from the one-step approximation.
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(_MAX_ITER):
        dlon, dlat = _gcj_delta(wlon, wlat)
        nlon, nlat = lon - dlon, lat - dlat
        done = np.all((np.abs(nlon - wlon) < _TOL) & (np.abs(nlat - wlat) < _TOL))
        wlon, wlat = nlon, nlat
        if done:
            break
    return np.where(outside, lon, wlon), np.where(outside, lat, wlat)


def _bd_forward(lon, lat):
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_inverse_approx(lon, lat):
    x, y = lon - 0.0065, lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def gcj02_to_bd09_np(lon, lat):
    lon, lat = _arrays(lon, lat)
    return _bd_forward(lon, lat)


def bd09_to_gcj02_np(lon, lat):
    lon, lat = _arrays(lon, lat)
    glon, glat = _bd_inverse_approx(lon, lat)
    # Refine: the closed-form inverse is off by up to ~1e-6 degree; correct by the residual.
    for _ in range(_MAX_ITER):
        blon, blat = _bd_forward(glon, glat)
        rlon, rlat = blon - lon, blat - lat
        glon, glat = glon - rlon, glat - rlat
        if np.all((np.abs(rlon) < _TOL) & (np.abs(rlat) < _TOL)):
            break
    return glon, glat


def wgs84_to_bd09_np(lon, lat):
    return gcj02_to_bd09_np(*wgs84_to_gcj02_np(lon, lat))


def bd09_to_wgs84_np(lon, lat):
    return gcj02_to_wgs84_np(*bd09_to_gcj02_np(lon, lat))


def _check_crs(crs: str) -> str:
    key = (crs or "").strip().lower().replace("-", "").replace("_", "")
    if key not in CRS_NAMES:
        raise ValueError(f"unknown coordinate system {crs!r}; use one of {', '.join(CRS_NAMES)}")
    return key


def to_wgs84_np(lon, lat, crs: str = "wgs84"):
    """Convert arrays of coordinates in `crs` ("wgs84", "gcj02" or "bd09") to WGS-84."""
    key = _check_crs(crs)
    if key == "gcj02":
        return gcj02_to_wgs84_np(lon, lat)
    if key == "bd09":
        return bd09_to_wgs84_np(lon, lat)
    return _arrays(lon, lat)


def _scalar(fn):
    def wrapper(lon: float, lat: float) -> tuple[float, float]:
        x, y = fn(float(lon), float(lat))
        return float(x), float(y)

    wrapper.__name__ = fn.__name__.removesuffix("_np")
    wrapper.__doc__ = f"Scalar version of `{fn.__name__}`: (lon, lat) -> (lon, lat)."
    return wrapper


wgs84_to_gcj02 = _scalar(wgs84_to_gcj02_np)
gcj02_to_wgs84 = _scalar(gcj02_to_wgs84_np)
gcj02_to_bd09 = _scalar(gcj02_to_bd09_np)
bd09_to_gcj02 = _scalar(bd09_to_gcj02_np)
wgs84_to_bd09 = _scalar(wgs84_to_bd09_np)
bd09_to_wgs84 = _scalar(bd09_to_wgs84_np)


def to_wgs84(lon: float, lat: float, crs: str = "wgs84") -> tuple[float, float]:
    """Convert one point in `crs` ("wgs84", "gcj02" or "bd09") to WGS-84; ValueError otherwise."""
    x, y = to_wgs84_np(float(lon), float(lat), crs)
    return float(x), float(y)
