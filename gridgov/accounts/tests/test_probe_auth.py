"""Issue 16, items 10 and 11: the security probe's attacks on the login doors.

10. The answer to a right password without the code differed from a wrong password's (it
    confirmed the password); a TOTP code worked twice; turning 2FA off or restarting it needed
    no code and left no audit entry.
11. Five failures locked a user name for everyone (a stranger could lock a worker out), thirty
    locked an address."""

import re
from datetime import timedelta

import pyotp
import pytest
from django.test import Client, override_settings
from django.utils import timezone

from gridgov.accounts import services
from gridgov.accounts.models import LoginAttempt, Role, User
from gridgov.core import crypto
from gridgov.core.models import AuditEntry
from gridgov.testing import make_user

PASSWORD = "a-long-test-password-1"


def _login(client, username, password, otp="", ip="10.0.0.1", path="/login/", **extra):
    return client.post(path, {"username": username, "password": password, "otp": otp}, REMOTE_ADDR=ip, **extra)


def _alert(response) -> str:
    m = re.search(r'role="alert">(.*?)</div>', response.content.decode(), re.S)
    return re.sub(r"\s+", " ", m.group(1)).strip() if m else ""


def _with_totp(username="boss", role=Role.LEADER):
    user = make_user(username, role)
    secret, _ = services.start_totp(user)
    assert services.confirm_totp(user, pyotp.TOTP(secret).now())
    user.refresh_from_db()
    return user, secret


def _later_step(user):
    """As if the authenticator had moved on to a later time step (no waiting in tests)."""
    User.objects.filter(pk=user.pk).update(totp_last_step=0)
    user.refresh_from_db()


# ---- 10. second factor ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login/", "/m/login/"])
def test_the_answer_never_confirms_the_password(client, db, path):
    user, secret = _with_totp()
    _later_step(user)
    wrong_password = _alert(_login(client, "boss", "wrong-password-9", path=path))
    no_code = _alert(_login(client, "boss", PASSWORD, path=path, ip="10.0.0.2"))
    wrong_code = _alert(_login(client, "boss", PASSWORD, otp="000000" if pyotp.TOTP(secret).now() != "000000" else "111111",
                               path=path, ip="10.0.0.3"))
    unknown_user = _alert(_login(client, "nobody", PASSWORD, path=path, ip="10.0.0.4"))
    assert wrong_password and wrong_password == no_code == wrong_code == unknown_user
    assert "_auth_user_id" not in client.session


def test_a_totp_code_works_once(client, db):
    user, secret = _with_totp()
    _later_step(user)
    code = pyotp.TOTP(secret).now()
    assert _login(client, "boss", PASSWORD, otp=code).status_code == 302
    client.logout()
    r = _login(client, "boss", PASSWORD, otp=code, ip="10.0.0.9")  # replayed, even from elsewhere
    assert r.status_code == 200 and "_auth_user_id" not in client.session
    # (a code of an earlier step than the one used is refused too)
    assert not services.verify_totp(user, pyotp.TOTP(secret).at(timezone.now(), counter_offset=-1))


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_logins_cannot_share_a_code():
    from gridgov.cases.tests.test_concurrency import race

    user, secret = _with_totp()
    _later_step(user)
    code = pyotp.TOTP(secret).now()
    results = race(lambda i: _login(Client(), "boss", PASSWORD, otp=code, ip=f"10.0.1.{i}").status_code, n=4)
    assert sorted(results) == [200, 200, 200, 302], results


def _two_factor(client, **data):
    return client.post("/account/2fa/", data)


def test_turning_2fa_off_needs_a_fresh_code_and_is_audited(client, db):
    user, secret = _with_totp("sec", Role.COMMUNITY_SECRETARY)
    client.force_login(user)
    for data in ({"action": "disable"}, {"action": "disable", "code": "12345x"}, {"action": "start"}):
        r = _two_factor(client, **data)
        assert r.status_code == 400
        user.refresh_from_db()
        assert user.totp_enabled and crypto.decrypt(user.totp_secret_enc) == secret
    # a wrong code on "confirm" does not show the secret of the factor that is on
    r = _two_factor(client, action="confirm", code="000000")
    assert secret not in r.content.decode()
    assert not AuditEntry.objects.filter(action__in=["totp_disabled", "totp_restarted"]).exists()

    _later_step(user)
    r = _two_factor(client, action="disable", code=pyotp.TOTP(secret).now())
    user.refresh_from_db()
    assert r.status_code == 200 and not user.totp_enabled and not user.totp_secret_enc
    entry = AuditEntry.objects.get(action="totp_disabled")
    assert entry.username == "sec" and entry.object_id == str(user.pk)


def test_restarting_enrolment_needs_a_fresh_code_and_is_audited(client, db):
    user, secret = _with_totp("sec", Role.COMMUNITY_SECRETARY)
    client.force_login(user)
    _later_step(user)
    r = _two_factor(client, action="start", code=pyotp.TOTP(secret).now())
    user.refresh_from_db()
    new_secret = crypto.decrypt(user.totp_secret_enc)
    assert r.status_code == 200 and new_secret != secret and new_secret in r.content.decode() and not user.totp_enabled
    assert AuditEntry.objects.filter(action="totp_restarted", object_id=str(user.pk)).count() == 1
    assert AuditEntry.objects.filter(action="totp_enabled", object_id=str(user.pk)).count() == 1
    # the enrolment is finished with a code of the new secret, and audited again
    assert "已开启" in _two_factor(client, action="confirm", code=pyotp.TOTP(new_secret).now()).content.decode()
    assert AuditEntry.objects.filter(action="totp_enabled", object_id=str(user.pk)).count() == 2


# ---- 11. lock-outs as a weapon --------------------------------------------------------------


def test_a_stranger_cannot_lock_a_worker_out(client, db):
    make_user("w1", Role.GRID_WORKER)
    # a stranger hammers the worker's name from a few addresses
    for ip in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        for _ in range(8):
            _login(Client(), "w1", "wrong-password-9", ip=ip)
    r = _login(Client(), "w1", PASSWORD, ip="203.0.113.1")
    assert r.status_code == 429 and int(r["Retry-After"]) > 0  # the stranger's pair waits
    # the worker, from their own address, still gets in at once
    r = _login(client, "w1", PASSWORD, ip="10.0.0.1")
    assert r.status_code == 302 and client.session.get("_auth_user_id")


def test_a_pair_waits_longer_with_each_failure(db):
    make_user("w2", Role.GRID_WORKER)
    t0 = timezone.now() - timedelta(minutes=5)
    for i in range(5):
        LoginAttempt.objects.create(username="w2", ip="198.51.100.7", at=t0 + timedelta(seconds=i), success=False)
    last = t0 + timedelta(seconds=4)
    with pytest.raises(services.Throttled) as exc:
        services.check_throttle("w2", "198.51.100.7", now=last + timedelta(seconds=10))
    assert exc.value.retry_after == 20
    services.check_throttle("w2", "198.51.100.7", now=last + timedelta(seconds=31))  # the delay is over
    services.check_throttle("w2", "198.51.100.8", now=last)  # another address: no delay
    LoginAttempt.objects.create(username="w2", ip="198.51.100.7", at=last + timedelta(seconds=31), success=False)
    with pytest.raises(services.Throttled) as exc:
        services.check_throttle("w2", "198.51.100.7", now=last + timedelta(seconds=32))
    assert exc.value.retry_after == 59  # doubled


def test_an_address_that_sprays_many_names_is_stopped(client, db):
    for i in range(30):
        LoginAttempt.objects.create(username=f"name{i}", ip="203.0.113.50", at=timezone.now(), success=False)
    make_user("w3", Role.GRID_WORKER)
    r = _login(client, "w3", PASSWORD, ip="203.0.113.50")
    assert r.status_code == 429 and "该地址" in r.content.decode()
    assert _login(client, "w3", PASSWORD, ip="10.0.0.3").status_code == 302


def test_a_distributed_guess_hits_the_user_ceiling_but_known_addresses_get_in(client, db):
    make_user("w4", Role.GRID_WORKER)
    LoginAttempt.objects.create(username="w4", ip="10.0.0.4", at=timezone.now() - timedelta(days=3), success=True)
    for i in range(100):
        LoginAttempt.objects.create(username="w4", ip=f"198.18.{i // 5}.{i % 5 + 1}", at=timezone.now(), success=False)
    r = _login(Client(), "w4", PASSWORD, ip="192.0.2.200")  # a new address: the ceiling holds
    assert r.status_code == 429
    assert _login(client, "w4", PASSWORD, ip="10.0.0.4").status_code == 302  # where w4 logged in before


def test_x_forwarded_for_is_used_only_behind_a_trusted_proxy(db):
    make_user("w5", Role.GRID_WORKER)
    # without the setting a forged header does not change the address counted
    for i in range(5):
        _login(Client(), "w5", "wrong-password-9", ip="203.0.113.9", HTTP_X_FORWARDED_FOR=f"10.9.9.{i}")
    assert _login(Client(), "w5", PASSWORD, ip="203.0.113.9", HTTP_X_FORWARDED_FOR="10.9.9.99").status_code == 429
    # behind the proxy (every client comes from its address) the forwarded address is the client's
    with override_settings(TRUST_X_FORWARDED_FOR=True):
        for _ in range(5):
            _login(Client(), "w6", "wrong-password-9", ip="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.10")
        make_user("w6", Role.GRID_WORKER)
        assert _login(Client(), "w6", PASSWORD, ip="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.10").status_code == 429
        assert _login(Client(), "w6", PASSWORD, ip="127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.0.6").status_code == 302
