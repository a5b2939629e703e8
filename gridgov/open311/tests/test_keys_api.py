"""The API keys' JSON API (/api/apikeys/): what the page /apikeys/ does, through the same services."""

import pytest
from django.test import Client

from gridgov.accounts.models import Role
from gridgov.core.models import ChangeRecord
from gridgov.open311 import services
from gridgov.open311.models import ApiKey
from gridgov.testing import make_user


@pytest.fixture
def admin(db):
    return make_user("keyadmin", Role.ADMIN)


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


def test_admin_creates_lists_sets_rate_and_revokes(admin):
    c = client_for(admin)
    r = c.post("/api/apikeys/", {"name": "市热线平台", "rate_per_minute": 30, "can_submit": False},
               content_type="application/json")
    assert r.status_code == 201, r.content
    body = r.json()
    raw = body["key"]
    assert raw.startswith("gg_") and body["prefix"] in raw and body["rate_per_minute"] == 30
    assert not body["can_submit"]
    key = ApiKey.objects.get(pk=body["id"])
    assert services.valid_key(raw) == key and key.created_by == admin

    r = c.get("/api/apikeys/")
    assert r.status_code == 200
    rows = r.json()
    assert [row["name"] for row in rows] == ["市热线平台"]
    assert set(rows[0]) >= {"id", "name", "prefix", "created_at", "last_used_at", "revoked", "rate_per_minute",
                            "can_submit"}
    assert raw not in r.content.decode() and key.secret_hash not in r.content.decode()
    assert "key" not in rows[0] and "secret_hash" not in rows[0]

    r = c.put(f"/api/apikeys/{key.pk}/rate", {"rate_per_minute": 0}, content_type="application/json")
    assert r.status_code == 200 and r.json()["rate_per_minute"] == 0
    r = c.post(f"/api/apikeys/{key.pk}/revoke")
    assert r.status_code == 200 and r.json()["revoked"] is True
    key.refresh_from_db()
    assert key.revoked and key.rate_per_minute == 0
    assert services.valid_key(raw) is None

    history = ChangeRecord.objects.filter(kind="apikeys", object_id=str(key.pk)).order_by("pk")
    assert [h.action for h in history] == ["create", "update", "revoke"]
    assert all(h.actor_id == admin.pk for h in history)
    assert history[1].changes == {"rate_per_minute": [30, 0]}


def test_bad_input_unknown_key_and_duplicate_name(admin):
    c = client_for(admin)
    r = c.post("/api/apikeys/", {"name": "  "}, content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "name_required" and "名称" in r.json()["detail"]
    r = c.post("/api/apikeys/", {"name": "甲", "rate_per_minute": -1}, content_type="application/json")
    assert r.status_code == 400 and "0 到 100000" in r.json()["detail"]
    r = c.post("/api/apikeys/", {"name": "甲", "rate_per_minute": "很多"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "invalid_rate"
    assert not ApiKey.objects.exists()
    assert c.post("/api/apikeys/", {"name": "甲"}, content_type="application/json").status_code == 201
    r = c.post("/api/apikeys/", {"name": "甲"}, content_type="application/json")
    assert r.status_code == 409 and r.json()["code"] == "name_taken" and "甲" in r.json()["detail"]
    key = ApiKey.objects.get()
    assert key.rate_per_minute == 60 and key.can_submit
    r = c.put(f"/api/apikeys/{key.pk}/rate", {"rate_per_minute": 100001}, content_type="application/json")
    assert r.status_code == 400
    assert c.post("/api/apikeys/999999/revoke").status_code == 404
    assert c.put("/api/apikeys/999999/rate", {"rate_per_minute": 1}, content_type="application/json").status_code == 404
    assert ChangeRecord.objects.filter(kind="apikeys").count() == 1


@pytest.mark.parametrize("role", [Role.LEADER, Role.COMMUNITY_SECRETARY, Role.GRID_WORKER])
def test_only_administrators(db, role):
    key, raw = services.create_key("已有", rate_per_minute=5)
    c = client_for(make_user("someone", role))
    assert c.get("/api/apikeys/").status_code == 403
    assert c.post("/api/apikeys/", {"name": "乙"}, content_type="application/json").status_code == 403
    assert c.post(f"/api/apikeys/{key.pk}/revoke").status_code == 403
    assert c.put(f"/api/apikeys/{key.pk}/rate", {"rate_per_minute": 0}, content_type="application/json").status_code == 403
    key.refresh_from_db()
    assert not key.revoked and key.rate_per_minute == 5 and ApiKey.objects.count() == 1
    assert Client().get("/api/apikeys/").status_code == 401
