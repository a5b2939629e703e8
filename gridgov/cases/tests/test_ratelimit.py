"""Rate limits of the public report doors: per device and per address, shared by every process
(database or Redis), 429 with Retry-After, configurable."""

import threading

import pytest
from django.db import connection

from gridgov.cases.models import Case
from gridgov.core import ratelimit
from gridgov.core.models import RateCounter

from .conftest import P_C1G1


def post(client, text="路灯坏了", **headers):
    return client.post("/api/cases/", {"text": text, "lon": P_C1G1[0], "lat": P_C1G1[1]}, **headers)


def test_per_device_limit_answers_429_with_retry_after(people, client, settings):
    settings.RATE_LIMIT_PER_DEVICE = "3/600"
    client.force_login(people["resident"])
    for i in range(3):
        assert post(client, HTTP_X_DEVICE_ID="phone-1").status_code == 201
    r = post(client, HTTP_X_DEVICE_ID="phone-1")
    assert r.status_code == 429 and 0 < int(r["Retry-After"]) <= 600
    assert "this device" in r.json()["detail"]
    assert Case.objects.count() == 3  # nothing stored past the limit
    assert post(client, HTTP_X_DEVICE_ID="phone-2").status_code == 201  # another device


def test_per_address_limit_and_cookie_device(people, client, settings):
    settings.RATE_LIMIT_PER_DEVICE = "0/60"  # off
    settings.RATE_LIMIT_PER_ADDRESS = "2/60"
    client.force_login(people["resident"])
    r = post(client)
    assert r.status_code == 201 and client.cookies.get("gridgov_device")  # a device id is handed out
    assert post(client, REMOTE_ADDR="10.0.0.9").status_code == 201
    assert post(client).status_code == 201
    assert post(client).status_code == 429
    assert post(client, REMOTE_ADDR="10.0.0.9").status_code == 201
    assert post(client, REMOTE_ADDR="10.0.0.9").status_code == 429


def test_staff_are_not_limited_and_get_is_not_counted(people, client, settings):
    settings.RATE_LIMIT_PER_ADDRESS = "1/60"
    client.force_login(people["gl"])
    assert post(client).status_code == 201 and post(client).status_code == 201
    client.force_login(people["resident"])
    for _ in range(3):
        assert client.get("/api/cases/").status_code == 200
    assert post(client).status_code == 201 and post(client).status_code == 429


def test_open311_post_is_limited_per_address(people, client, settings):
    """Without a valid key (a keyed client counts on its key's own rate: open311 test_keyed_rate)."""
    from gridgov.cases.models import Item

    settings.RATE_LIMIT_PER_ADDRESS = "1/60"
    code = Item.objects.filter(active=True).first().code
    data = {"api_key": "gg_12345678_guess", "service_code": code, "lat": P_C1G1[1], "long": P_C1G1[0], "description": "x"}
    assert client.post("/open311/v2/requests.json", data).status_code == 403
    r = client.post("/open311/v2/requests.xml", data)
    assert r.status_code == 429 and r["Retry-After"] and b"<errors>" in r.content


def test_windows_roll_over_and_old_counters_are_cleared(db):
    assert [ratelimit.hit("k", 2, 60, now=1000.0).allowed for _ in range(3)] == [True, True, False]
    assert ratelimit.hit("k", 2, 60, now=1000.0).retry_after == 20
    assert ratelimit.hit("k", 2, 60, now=1021.0).allowed  # next window
    ratelimit.hit("other", 2, 60, now=5000.0)
    assert RateCounter.objects.count() == 1  # windows over are deleted when a new one starts


def test_bad_limit_setting_is_a_clear_error():
    with pytest.raises(ValueError, match="COUNT/SECONDS"):
        ratelimit.parse_limit("lots")


@pytest.mark.django_db(transaction=True)
def test_concurrent_hits_are_all_counted(db):
    """Threads (separate connections, like separate processes) share the count in the database."""
    results = []

    def worker():
        from django.db import connection as c

        try:
            for _ in range(5):
                results.append(ratelimit.hit("shared", 1000, 3600, now=7200.0).count)
        finally:
            c.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    # in-memory shared-cache SQLite (the test database) locks tables instead of waiting, so
    # there the connections take turns; PostgreSQL runs them at once
    together = connection.vendor == "postgresql"
    for t in threads:
        t.start()
        if not together:
            t.join()
    for t in threads:
        t.join()
    assert RateCounter.objects.get().count == 20
    assert sorted(results)[-1] == 20
