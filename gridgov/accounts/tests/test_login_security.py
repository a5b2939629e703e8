import os
import subprocess
import sys

import pyotp
import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from gridgov.accounts import services
from gridgov.accounts.models import LoginAttempt, Role
from gridgov.core import crypto
from gridgov.testing import make_user

PASSWORD = "a-long-test-password-1"


def _post_login(client, username, password, otp="", ip="10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password, "otp": otp}, REMOTE_ADDR=ip)


FREE = 5  # LOGIN_FREE_FAILURES_PER_PAIR


def test_login_throttled_after_repeated_failures(client, db):
    make_user("w1", Role.GRID_WORKER)
    for _ in range(FREE):
        r = _post_login(client, "w1", "wrong-password-9")
        assert r.status_code == 200 and "_auth_user_id" not in client.session
    # now even the right password is refused from this address, for a while
    r = _post_login(client, "w1", PASSWORD)
    assert r.status_code == 429 and int(r["Retry-After"]) > 0
    assert "登录失败次数过多" in r.content.decode()
    assert "_auth_user_id" not in client.session
    # another account from another address is not affected
    make_user("w2", Role.GRID_WORKER)
    r = _post_login(client, "w2", PASSWORD, ip="10.0.0.2")
    assert r.status_code == 302


def test_success_clears_failures(client, db):
    make_user("w3", Role.GRID_WORKER)
    for _ in range(FREE - 1):
        _post_login(client, "w3", "wrong-password-9")
    assert _post_login(client, "w3", PASSWORD).status_code == 302
    assert not LoginAttempt.objects.filter(username="w3", success=False).exists()


def test_totp_second_factor(client, db):
    user = make_user("boss", Role.LEADER)
    secret, uri = services.start_totp(user)
    assert uri.startswith("otpauth://totp/") and secret not in user.totp_secret_enc
    assert not services.confirm_totp(user, "000000") or pyotp.TOTP(secret).now() == "000000"
    first = pyotp.TOTP(secret).now()
    assert services.confirm_totp(user, first)
    user.refresh_from_db()
    assert user.totp_enabled and crypto.decrypt(user.totp_secret_enc) == secret
    # password alone no longer logs in
    r = _post_login(client, "boss", PASSWORD)
    assert r.status_code == 200 and "动态验证码" in r.content.decode() and "_auth_user_id" not in client.session
    # the code that confirmed it is used up; a code of a later step logs in
    assert _post_login(client, "boss", PASSWORD, otp=first).status_code == 200
    type(user).objects.filter(pk=user.pk).update(totp_last_step=0)  # (as if 30 s had passed)
    assert _post_login(client, "boss", PASSWORD, otp=pyotp.TOTP(secret).now()).status_code == 302


def test_two_factor_page_enables_it(client, db):
    user = make_user("sec", Role.COMMUNITY_SECRETARY)
    assert client.login(username="sec", password=PASSWORD)
    r = client.post("/account/2fa/", {"action": "start"})
    user.refresh_from_db()
    secret = crypto.decrypt(user.totp_secret_enc)
    assert secret in r.content.decode()
    r = client.post("/account/2fa/", {"action": "confirm", "code": pyotp.TOTP(secret).now()})
    assert "已开启" in r.content.decode()
    user.refresh_from_db()
    assert user.totp_enabled


@pytest.mark.parametrize(
    "password, ok",
    [("short1", False), ("onlyletterslong", False), ("1234567890123", False), ("grid-worker-2024x", True)],
)
def test_password_rules(password, ok, db):
    if ok:
        validate_password(password)
    else:
        with pytest.raises(ValidationError):
            validate_password(password)


def test_security_headers(client, db):
    r = client.get("/login/")
    csp = r["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert r["X-Content-Type-Options"] == "nosniff" and r["X-Frame-Options"] == "DENY"
    assert r["Referrer-Policy"] == "same-origin"
    assert "csrftoken" in r.cookies


def test_csrf_enforced_on_login(db):
    from django.test import Client

    make_user("w9", Role.GRID_WORKER)
    c = Client(enforce_csrf_checks=True)
    assert c.post("/login/", {"username": "w9", "password": PASSWORD}).status_code == 403


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    from cryptography.fernet import Fernet

    env = dict(
        os.environ,
        GRIDGOV_HTTPS="1",
        GRIDGOV_SECRET_KEY="x" * 20 + "-production-secret-key-with-plenty-of-entropy-" + "q7Z!" * 5,
        GRIDGOV_FIELD_KEYS=Fernet.generate_key().decode(),
        GRIDGOV_INDEX_KEY="index-key-" + "k" * 30,
        GRIDGOV_ALLOWED_HOSTS="grid.example.gov.cn",
        GRIDGOV_DATA_DIR=str(tmp_path),
    )
    env.pop("GRIDGOV_DEBUG", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests of this process
    r = subprocess.run(
        [sys.executable, "-m", "gridgov", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no issues" in r.stdout
