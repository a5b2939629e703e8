"""Issue 10: API keys on a page (/apikeys/, administrators): create (the key shown once),
revoke, set the rate; each change keeps a history row (core.history, kind "apikeys")."""

import re

from django.test import Client

from gridgov.accounts.models import Role
from gridgov.core.models import ChangeRecord
from gridgov.open311 import services
from gridgov.open311.models import ApiKey
from gridgov.testing import make_user


def admin_client():
    c = Client()
    c.force_login(make_user("root", Role.ADMIN))
    return c


def test_create_shows_the_key_once_and_it_works(db):
    c = admin_client()
    assert '<a href="/apikeys/">' in c.get("/apikeys/").content.decode()  # the nav link, for whom the table allows
    r = c.post("/apikeys/", {"name": "市级平台", "rate_per_minute": "0"})
    assert r.status_code == 201
    raw = re.search(r'<code id="new-key">([^<]+)</code>', r.content.decode()).group(1)
    key = ApiKey.objects.get(name="市级平台")
    assert key.rate_per_minute == 0 and key.created_by.username == "root" and raw not in key.secret_hash
    assert services.valid_key(raw, submit=True) == key
    page = c.get("/apikeys/").content.decode()
    assert raw not in page and key.prefix in page and "市级平台" in page  # never shown again
    rec = ChangeRecord.objects.get(kind="apikeys", action="create")
    assert rec.actor.username == "root" and rec.changes["rate_per_minute"] == [None, 0] and raw not in str(rec.changes)


def test_set_the_rate_and_revoke_with_history(db):
    c = admin_client()
    key, raw = services.create_key("partner", rate_per_minute=60)
    r = c.post(f"/apikeys/{key.pk}/rate/", {"rate_per_minute": "10"})
    assert r.status_code == 200 and ApiKey.objects.get(pk=key.pk).rate_per_minute == 10
    assert c.post(f"/apikeys/{key.pk}/rate/", {"rate_per_minute": "-1"}).status_code == 400
    assert c.post(f"/apikeys/{key.pk}/rate/", {"rate_per_minute": "lots"}).status_code == 400
    assert c.post(f"/apikeys/{key.pk}/revoke/").status_code == 200
    key.refresh_from_db()
    assert key.revoked and services.valid_key(raw) is None
    rows = list(ChangeRecord.objects.filter(kind="apikeys", object_id=str(key.pk)).order_by("id").values_list("action", "changes"))
    assert rows[1:] == [("update", {"rate_per_minute": [60, 10]}), ("revoke", {"revoked": [False, True]})]
    assert "partner" in c.get("/apikeys/").content.decode()
    # a duplicate name is refused with the reason
    r = c.post("/apikeys/", {"name": "partner", "rate_per_minute": "5"})
    assert r.status_code == 400 and "exists already" in r.content.decode()


def test_only_administrators(db):
    key, _ = services.create_key("k")
    for role in (Role.LEADER, Role.COMMUNITY_SECRETARY, Role.PROPERTY_STAFF, Role.RESIDENT):
        c = Client()
        c.force_login(make_user(f"u-{role}", role))
        assert c.get("/apikeys/").status_code == 403
        if role != Role.RESIDENT:
            assert '<a href="/apikeys/">' not in c.get("/territory/").content.decode()
        assert c.post("/apikeys/", {"name": "x", "rate_per_minute": "1"}).status_code == 403
        assert c.post(f"/apikeys/{key.pk}/revoke/").status_code == 403
    assert Client().get("/apikeys/").status_code == 302  # to the login page
    assert not ApiKey.objects.get(pk=key.pk).revoked and ApiKey.objects.count() == 1
