"""Setting rows: the value in force from its time, history kept, the per-process cache cleared on
save, Django settings winning, the hotline's settings on the same rows, and who may edit."""

import datetime as dt
import json
from unittest import mock

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.cases import conf
from gridgov.core import ratelimit
from gridgov.core import settings_rows
from gridgov.core.models import ChangeRecord, SettingValue
from gridgov.testing import make_user


@pytest.fixture
def admin(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_user("adm", Role.ADMIN)


def _put(client, body):
    return client.put("/api/settings/", json.dumps(body), content_type="application/json")


def test_a_row_from_a_later_time_waits_for_it_and_history_is_kept(admin, client):
    assert conf.get_int("CASES_RESOLVE_NOTE_MIN") == 4
    client.force_login(admin)
    later = timezone.now() + dt.timedelta(days=3)
    r = _put(client, {"values": {"CASES_RESOLVE_NOTE_MIN": 10}, "valid_from": later.isoformat(), "note": "从下周起"})
    assert r.status_code == 200
    assert conf.get_int("CASES_RESOLVE_NOTE_MIN") == 4  # not yet
    with mock.patch("django.utils.timezone.now", return_value=later + dt.timedelta(minutes=1)):
        assert conf.get_int("CASES_RESOLVE_NOTE_MIN") == 10
    described = {s["key"]: s for s in client.get("/api/settings/").json()}
    assert described["CASES_RESOLVE_NOTE_MIN"]["pending"][0]["value"] == "10"
    hist = client.get("/api/settings/CASES_RESOLVE_NOTE_MIN/history").json()
    assert hist["rows"][0]["changed_by"] == "adm" and hist["history"][0]["changes"] == {"CASES_RESOLVE_NOTE_MIN": ["4", "10"]}
    # now, at once
    assert _put(client, {"values": {"CASES_RESOLVE_NOTE_MIN": 6}}).status_code == 200
    assert conf.get_int("CASES_RESOLVE_NOTE_MIN") == 6
    assert ChangeRecord.objects.filter(kind="settings", object_id="CASES_RESOLVE_NOTE_MIN").count() == 2


def test_bad_values_are_refused_whole(admin, client):
    client.force_login(admin)
    r = _put(client, {"values": {"CASES_WARN_RATIO": "0.5", "CASES_RESOLVE_PHOTO": "sometimes"}})
    assert r.status_code == 400
    assert _put(client, {"values": {"RATE_LIMIT_PER_ADDRESS": "lots"}}).status_code == 400
    assert _put(client, {"values": {"NO_SUCH_KEY": "1"}}).status_code == 400
    assert not SettingValue.objects.exists()


def test_the_cache_is_cleared_on_save_and_expires_for_other_processes(admin, client, monkeypatch):
    assert ratelimit.setting("RATE_LIMIT_PER_ADDRESS") == "120/3600"  # read and cached
    # another process writes a row: this one sees it once its copy expires (TTL_SECONDS)
    SettingValue.objects.create(key="RATE_LIMIT_PER_ADDRESS", value="500/3600", valid_from=timezone.now(),
                                changed_at=timezone.now())
    assert ratelimit.setting("RATE_LIMIT_PER_ADDRESS") == "120/3600"
    real = settings_rows.time.monotonic
    monkeypatch.setattr(settings_rows.time, "monotonic", lambda: real() + settings_rows.TTL_SECONDS + 1)
    assert ratelimit.setting("RATE_LIMIT_PER_ADDRESS") == "500/3600"
    monkeypatch.undo()
    # a save in this process: in force at once
    settings_rows.set_values(admin, {"RATE_LIMIT_PER_ADDRESS": "2000/3600"})
    assert ratelimit.setting("RATE_LIMIT_PER_ADDRESS") == "2000/3600"


def test_django_settings_win_over_rows(admin, settings):
    settings_rows.set_values(admin, {"CASES_WARN_RATIO": "0.5"})
    assert conf.get_float("CASES_WARN_RATIO") == 0.5
    settings.CASES_WARN_RATIO = "0.9"
    assert conf.get_float("CASES_WARN_RATIO") == 0.9
    assert {s["key"]: s for s in settings_rows.describe()}["CASES_WARN_RATIO"]["source"] == "deployment"


def test_hotline_settings_are_the_same_rows(admin, client):
    from gridgov.hotline.models import RateSettings

    client.force_login(admin)
    r = client.put("/api/hotline/settings", json.dumps({"min_sample": 25, "response_weight": 0.2, "resolution_weight": 0.4,
                                                       "satisfaction_weight": 0.4}), content_type="application/json")
    assert r.status_code == 200 and r.json()["min_sample"] == 25
    assert settings_rows.value("HOTLINE_MIN_SAMPLE") == 25 and RateSettings.current().response_weight == 0.2
    # and the settings API edits them (the three weights together, summing to 1)
    assert _put(client, {"values": {"HOTLINE_RESPONSE_WEIGHT": 0.3}}).status_code == 400
    assert _put(client, {"values": {"HOTLINE_RESPONSE_WEIGHT": 0.3, "HOTLINE_RESOLUTION_WEIGHT": 0.3}}).status_code == 200
    assert client.get("/api/hotline/settings").json()["response_weight"] == 0.3
    assert settings_rows.value("ACCOUNTS_REQUIRE_SECOND_FACTOR") is False
    assert _put(client, {"values": {"ACCOUNTS_REQUIRE_SECOND_FACTOR": True}}).status_code == 200
    assert settings_rows.value("ACCOUNTS_REQUIRE_SECOND_FACTOR") is True


def test_only_administrators_edit_settings(admin, client):
    for role in (Role.LEADER, Role.COMMUNITY_SECRETARY, Role.GRID_LEADER):
        client.force_login(make_user(f"u-{role}", role))
        assert _put(client, {"values": {"CASES_RATING_REOPENS": 2}}).status_code == 403
        assert client.get("/settings/").status_code == (200 if role == Role.LEADER else 403)
    assert not SettingValue.objects.exists()
