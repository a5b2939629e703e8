"""Helpers of the day slice's tests: points inside the test street's grids, a logged-in client."""

from django.test import Client

from gridgov.testing import DLAT, DLON, LAT0, LON0

#: the middle latitude of the northern grids (g1) and the longitudes of c1g1's micro-grids
LAT_G1 = LAT0 + 0.75 * DLAT
LON_M1 = LON0 + DLON / 8
LON_M2 = LON0 + 3 * DLON / 8


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def post(c, url, data=None):
    return c.post(url, data or {}, content_type="application/json")
