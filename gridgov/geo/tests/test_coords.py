import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov.geo import coords
from gridgov.geo.spatial import haversine_m

# Reference pairs published with googollee/eviltransform (python/test.py, TESTS):
# (wgs lat, wgs lon, gcj lat, gcj lon) for Shanghai, Shenzhen and Beijing.
EVILTRANSFORM_WGS_GCJ = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
]

# wandergis/coordtransform test/app.js (input 116.404, 39.915 in every case), reproduced by the
# hutool CoordinateUtilTest and coordtransform-rs suites.
COORDTRANSFORM_INPUT = (116.404, 39.915)
COORDTRANSFORM_WGS84_TO_GCJ02 = (116.41024449916938, 39.91640428150164)
COORDTRANSFORM_GCJ02_TO_BD09 = (116.41036949371029, 39.92133699351021)
# coordtransform's bd09togcj02 is the one-step closed-form inverse; ours refines it, so they
# agree to the closed form's own error (a few 1e-7 degree, centimetres).
COORDTRANSFORM_BD09_TO_GCJ02 = (116.39762729119315, 39.90865673957631)


@pytest.mark.parametrize("wlat,wlon,glat,glon", EVILTRANSFORM_WGS_GCJ)
def test_wgs84_to_gcj02_matches_eviltransform(wlat, wlon, glat, glon):
    lon, lat = coords.wgs84_to_gcj02(wlon, wlat)
    assert lon == pytest.approx(glon, abs=1e-9)
    assert lat == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize("wlat,wlon,glat,glon", EVILTRANSFORM_WGS_GCJ)
def test_gcj02_to_wgs84_recovers_published_wgs84(wlat, wlon, glat, glon):
    lon, lat = coords.gcj02_to_wgs84(glon, glat)
    # The published GCJ values carry ~15 significant digits: well under a millimetre.
    assert haversine_m(lon, lat, wlon, wlat) < 0.001


def test_coordtransform_reference_values():
    assert coords.wgs84_to_gcj02(*COORDTRANSFORM_INPUT) == pytest.approx(COORDTRANSFORM_WGS84_TO_GCJ02, abs=1e-12)
    assert coords.gcj02_to_bd09(*COORDTRANSFORM_INPUT) == pytest.approx(COORDTRANSFORM_GCJ02_TO_BD09, abs=1e-12)
    lon, lat = coords.bd09_to_gcj02(*COORDTRANSFORM_INPUT)
    assert haversine_m(lon, lat, *COORDTRANSFORM_BD09_TO_GCJ02) < 0.1
    # and ours is the better inverse: it maps back exactly
    assert coords.gcj02_to_bd09(lon, lat) == pytest.approx(COORDTRANSFORM_INPUT, abs=1e-10)


def test_outside_china_gcj_is_identity():
    for lon, lat in [(-118.25, 34.05), (2.35, 48.85), (139.69, 35.69), (0.0, 0.0)]:
        assert coords.wgs84_to_gcj02(lon, lat) == (lon, lat)
        assert coords.gcj02_to_wgs84(lon, lat) == (lon, lat)
        assert coords.to_wgs84(lon, lat, "gcj02") == (lon, lat)


def test_offset_is_hundreds_of_metres_in_beijing():
    lon, lat = coords.wgs84_to_gcj02(116.39, 39.79)
    assert 100 < haversine_m(116.39, 39.79, lon, lat) < 1000
    lon, lat = coords.wgs84_to_bd09(116.39, 39.79)
    assert 500 < haversine_m(116.39, 39.79, lon, lat) < 2000


def test_to_wgs84_dispatch_and_error():
    g = coords.wgs84_to_gcj02(116.39, 39.79)
    b = coords.wgs84_to_bd09(116.39, 39.79)
    assert coords.to_wgs84(*g, "gcj02") == pytest.approx((116.39, 39.79), abs=1e-9)
    assert coords.to_wgs84(*b, "BD09") == pytest.approx((116.39, 39.79), abs=1e-9)
    assert coords.to_wgs84(116.39, 39.79) == (116.39, 39.79)
    with pytest.raises(ValueError, match="unknown coordinate system 'epsg3857'.*wgs84, gcj02, bd09"):
        coords.to_wgs84(116.39, 39.79, "epsg3857")


def test_vectorised_equals_scalar():
    rng = np.random.default_rng(7)
    lons = rng.uniform(73, 135, 200)
    lats = rng.uniform(18, 53, 200)
    for name in ["wgs84_to_gcj02", "gcj02_to_wgs84", "gcj02_to_bd09", "bd09_to_gcj02", "wgs84_to_bd09", "bd09_to_wgs84"]:
        xs, ys = getattr(coords, f"{name}_np")(lons, lats)
        for i in range(0, 200, 17):
            x, y = getattr(coords, name)(lons[i], lats[i])
            assert (xs[i], ys[i]) == pytest.approx((x, y), abs=1e-9), name
    with pytest.raises(ValueError):
        coords.wgs84_to_gcj02_np([1, 2], [3])


china_lon = st.floats(min_value=73.0, max_value=135.0, allow_nan=False)
china_lat = st.floats(min_value=18.0, max_value=53.5, allow_nan=False)
any_lon = st.floats(min_value=-180.0, max_value=180.0, allow_nan=False)
any_lat = st.floats(min_value=-85.0, max_value=85.0, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_gcj_round_trip_under_a_centimetre(lon, lat):
    g = coords.wgs84_to_gcj02(lon, lat)
    back = coords.gcj02_to_wgs84(*g)
    assert haversine_m(lon, lat, *back) < 0.01
    # and the other way: a GCJ point maps to a WGS point that maps back to it
    w = coords.gcj02_to_wgs84(lon, lat)
    assert haversine_m(lon, lat, *coords.wgs84_to_gcj02(*w)) < 0.01


def _near_box_edge(lon, lat, margin=0.02):
    """Within `margin` degrees of the edge of the box where GCJ-02 applies. There the shift is
    not one-to-one (a point just inside maps across the edge, onto points that map to
    themselves), so no inverse can return every original: the strip is open sea (137.8E) or
    outside China's territory, and left out of the round-trip property."""
    return (
        abs(lon - 72.004) < margin or abs(lon - 137.8347) < margin or abs(lat - 0.8293) < margin or abs(lat - 55.8271) < margin
    )


@settings(max_examples=300, deadline=None)
@given(any_lon, any_lat)
def test_bd_round_trips_under_a_centimetre(lon, lat):
    assert haversine_m(lon, lat, *coords.bd09_to_gcj02(*coords.gcj02_to_bd09(lon, lat))) < 0.01
    if not _near_box_edge(lon, lat):
        assert haversine_m(lon, lat, *coords.bd09_to_wgs84(*coords.wgs84_to_bd09(lon, lat))) < 0.01
    assert all(math.isfinite(v) for v in coords.to_wgs84(lon, lat, "bd09"))


def test_the_box_edge_is_ambiguous():
    # two WGS-84 points on either side of the east edge share one GCJ-02 image neighbourhood:
    # the inverse returns the identity for a GCJ point outside the box, as coordtransform does
    inside, outside = (137.833984375, 1.0), (137.8359375, 1.0)
    assert coords.wgs84_to_gcj02(*outside) == outside
    assert coords.gcj02_to_wgs84(*outside) == outside
    assert coords.wgs84_to_gcj02(*inside) != inside
