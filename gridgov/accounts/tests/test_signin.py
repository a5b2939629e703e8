"""Issue 10: residents sign in with their mobile number and a one-time SMS code, no password;
WeChat's web-view signs in by openid once bound by a code. Codes expire, are used once, allow a
few tries, are limited per number and per address, and never reach a log record. Staff accounts
are never signed in by SMS."""

import json
import logging
from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.accounts import signin, wechat
from gridgov.accounts.models import ExternalLogin, PhoneCode, Role, User
from gridgov.cases import notify
from gridgov.cases.models import Notification
from gridgov.core.crypto import blind_index, decrypt, encrypt, mask_phone
from gridgov.testing import make_user

PHONE = "13912345678"
IP = "10.9.8.7"


def ask(client, phone=PHONE, ip=IP, **extra):
    return client.post("/api/accounts/sms-code", {"phone": phone}, content_type="application/json", REMOTE_ADDR=ip, **extra)


def login(client, code, phone=PHONE, ip=IP, **extra):
    return client.post("/api/accounts/sms-login", {"phone": phone, "code": code}, content_type="application/json",
                       REMOTE_ADDR=ip, **extra)


def code_for(phone=PHONE):
    from gridgov.testing import sent_code

    return sent_code(phone, kind="login_code")


def wrong(code):
    return "000000" if code != "000000" else "111111"


def with_phone(user, phone):
    User.objects.filter(pk=user.pk).update(phone_enc=encrypt(phone), phone_hash=blind_index(phone), phone_masked=mask_phone(phone))


def test_first_sign_in_creates_a_resident_without_a_password(client, db):
    r = ask(client)
    assert r.status_code == 200 and r.json() == {"sent": True, "phone": "139****5678", "expires_in": 600}
    code = code_for()
    assert code not in r.content.decode() and not User.objects.exists()  # nothing before the code
    r = login(client, code)
    assert r.status_code == 200 and r.json()["created"] is True and r.json()["role"] == "resident"
    user = User.objects.get(pk=r.json()["id"])
    assert user.role == Role.RESIDENT and not user.has_usable_password()
    assert PHONE not in user.username + user.display_name + user.phone_enc and decrypt(user.phone_enc) == PHONE
    assert client.get("/api/cases/").status_code == 200  # a session
    # the next time: the same account
    c2 = Client()
    ask(c2)
    r = login(c2, code_for())
    assert r.status_code == 200 and r.json() == {**r.json(), "id": user.pk, "created": False}
    assert User.objects.count() == 1


def test_a_registered_resident_and_a_volunteer_sign_in_to_their_account(client, db):
    vol = make_user("vol", Role.VOLUNTEER)
    with_phone(vol, PHONE)
    ask(client)
    r = login(client, code_for())
    assert r.status_code == 200 and r.json()["id"] == vol.pk and r.json()["created"] is False


def test_a_code_expires_after_the_minutes_set(client, db, settings):
    settings.PHONE_CODE_MINUTES = 3
    t0 = timezone.now()
    with mock.patch("django.utils.timezone.now", return_value=t0):
        assert ask(client).json()["expires_in"] == 180
    code = code_for()
    with mock.patch("django.utils.timezone.now", return_value=t0 + timedelta(minutes=3, seconds=1)):
        r = login(client, code)
    assert r.status_code == 400 and "验证码不正确" in r.json()["detail"] and not User.objects.exists()
    with mock.patch("django.utils.timezone.now", return_value=t0 + timedelta(minutes=2, seconds=59)):
        assert login(client, code).status_code == 200  # still in time


def test_a_code_is_used_once(client, db):
    ask(client)
    code = code_for()
    assert login(client, code).status_code == 200
    r = login(Client(), code)
    assert r.status_code == 400 and PhoneCode.objects.get().used_at is not None
    # and by the row directly (two requests cannot both use it: compare-and-set on used_at)
    with pytest.raises(signin.CodeInvalid):
        signin.finish(PhoneCode.objects.get().pk, code)


def test_a_code_allows_five_tries(client, db):
    ask(client)
    code = code_for()
    for _ in range(5):
        assert login(client, wrong(code)).status_code == 400
    r = login(client, code)  # the right one, too late
    assert r.status_code == 400 and not User.objects.exists()


def test_code_requests_are_limited_per_number(db):
    for i in range(5):
        assert ask(Client(), ip=f"10.0.0.{i}").status_code == 200
    r = ask(Client(), ip="10.0.0.99")
    assert r.status_code == 429 and int(r["Retry-After"]) > 0 and "频繁" in r.json()["detail"]
    assert ask(Client(), phone="13800001111", ip="10.0.0.99").status_code == 200  # another number
    assert Notification.objects.filter(kind="login_code").count() == 6


def test_code_requests_are_limited_per_address(db, settings):
    settings.SMS_CODES_PER_ADDRESS_PER_HOUR = 3
    for i in range(3):
        assert ask(Client(), phone=f"1380000000{i}").status_code == 200
    r = ask(Client(), phone="13800000009")
    assert r.status_code == 429 and int(r["Retry-After"]) > 0 and "该地址" in r.json()["detail"]
    assert ask(Client(), phone="13800000009", ip="10.1.1.1").status_code == 200  # another address
    assert not Notification.objects.filter(kind="login_code", payload__phone_masked="138****0009").count() > 1


@pytest.mark.parametrize("role", [Role.GRID_WORKER, Role.COMMUNITY_SECRETARY, Role.PROPERTY_STAFF, Role.LEADER, Role.ADMIN])
def test_a_staff_account_is_never_signed_in_by_sms(db, role):
    staff = make_user("staffer", role)
    with_phone(staff, PHONE)
    c = Client()
    r = ask(c)
    assert r.status_code == 200 and r.json()["phone"] == "139****5678"  # the same answer as for anyone
    assert not Notification.objects.filter(kind="login_code").exists()  # but no code: a note instead
    assert Notification.objects.filter(kind="login_password").count() == 1
    assert PhoneCode.objects.get().code_hash == ""  # a decoy: no code answers it
    for guess in ("000000", "123456", "999999"):
        assert login(c, guess).status_code == 400
    assert c.get("/api/cases/").status_code == 401 and User.objects.count() == 1
    # even when a code was issued before the account became staff
    User.objects.filter(pk=staff.pk).update(role=Role.RESIDENT)
    ask(c)
    code = code_for()
    User.objects.filter(pk=staff.pk).update(role=role)
    assert login(c, code).status_code == 400 and c.get("/api/cases/").status_code == 401


def test_a_superuser_or_disabled_account_is_never_signed_in_by_sms(db):
    boss = make_user("boss", Role.RESIDENT)
    User.objects.filter(pk=boss.pk).update(is_superuser=True)
    with_phone(boss, PHONE)
    gone = make_user("gone", Role.RESIDENT)
    User.objects.filter(pk=gone.pk).update(is_active=False)
    with_phone(gone, "13800001111")
    for phone in (PHONE, "13800001111"):
        c = Client()
        assert ask(c, phone=phone).status_code == 200
        assert login(c, "123456", phone=phone).status_code == 400
    assert not Notification.objects.filter(kind="login_code").exists() and User.objects.count() == 2


def test_a_bad_number_and_a_cross_site_request_are_refused(client, db):
    assert ask(client, phone="12345").status_code == 400
    assert ask(client, phone="+86 139-1234-5678").status_code == 200
    r = ask(client, HTTP_ORIGIN="https://evil.example")
    assert r.status_code == 403
    r = login(client, "123456", HTTP_SEC_FETCH_SITE="cross-site")
    assert r.status_code == 403


@pytest.mark.parametrize("debug", [False, True])
def test_the_code_is_never_in_a_log_record(db, caplog, capsys, settings, debug):
    """Logging captured at DEBUG for every logger through the whole flow (request, delivery by
    the console channel, a wrong try, the sign-in): no record holds the code. The console shows
    it on stdout in development (DEBUG) only, for the developer."""
    settings.DEBUG = debug
    settings.CASES_NOTIFY_CHANNELS = "console"
    c = Client()
    with caplog.at_level(logging.DEBUG):
        ask(c)
        code = code_for()
        capsys.readouterr()
        notify.deliver()
        out = capsys.readouterr().out
        login(c, wrong(code))
        r = login(c, code)
        assert r.status_code == 200
    assert caplog.records  # the console channel did log (ids and the masked number)
    for rec in caplog.records:
        text = rec.getMessage() + json.dumps([str(a) for a in (rec.args or ())])
        assert code not in text and PHONE not in text, rec
    assert (code in out) is debug and PHONE not in out
    assert all("secret_enc" not in n.payload for n in Notification.objects.all())  # not kept once sent
    assert code not in r.content.decode()


# ---- WeChat -----------------------------------------------------------------------------------


def wechat_login(client, code):
    return client.post("/api/accounts/wechat-login", {"code": code}, content_type="application/json")


def test_wechat_binds_an_openid_after_an_sms_proof_then_signs_in_by_openid_alone(db, settings):
    settings.WECHAT_OAUTH_PROVIDER = "fake"
    c = Client()
    r = wechat_login(c, "fake-o123")
    assert r.status_code == 200 and r.json()["signed_in"] is False and c.get("/api/cases/").status_code == 401
    ask(c)
    r = login(c, code_for())
    assert r.status_code == 200 and r.json()["wechat_bound"] is True
    ext = ExternalLogin.objects.get()
    assert (ext.provider, ext.subject, ext.user_id) == ("wechat", "o123", r.json()["id"])
    c2 = Client()  # later: the openid alone
    r2 = wechat_login(c2, "fake-o123")
    assert r2.status_code == 200 and r2.json()["signed_in"] is True and r2.json()["id"] == ext.user_id
    assert c2.get("/api/cases/").status_code == 200
    assert wechat_login(Client(), "not-a-fake-code").status_code == 400
    assert wechat_login(Client(), "fake-other").json()["signed_in"] is False


def test_wechat_never_binds_nor_signs_in_staff(db, settings):
    settings.WECHAT_OAUTH_PROVIDER = "fake"
    staff = make_user("w", Role.GRID_WORKER)
    assert wechat.bind("o-staff", staff) is None
    ExternalLogin.objects.create(provider="wechat", subject="o-staff", user=staff)  # bound before a role change
    r = wechat_login(Client(), "fake-o-staff")
    assert r.status_code == 200 and r.json()["signed_in"] is False


def test_wechat_is_off_without_configuration(db, settings):
    settings.DEBUG = False
    assert wechat.provider() is None
    assert wechat_login(Client(), "fake-x").status_code == 404


def test_the_real_provider_exchanges_the_code_for_the_openid(settings):
    settings.WECHAT_APP_ID, settings.WECHAT_APP_SECRET = "wx-app", "s3cret"
    prov = wechat.provider()
    assert isinstance(prov, wechat.WechatProvider)
    seen = []

    def fetch(url):
        seen.append(url)
        return b'{"access_token": "t", "expires_in": 7200, "openid": "oABC", "scope": "snsapi_base"}'

    with mock.patch.object(prov, "fetch", fetch):
        assert prov.exchange("the-code") == "oABC"
    assert seen[0].startswith("https://api.weixin.qq.com/sns/oauth2/access_token?")
    for part in ("appid=wx-app", "secret=s3cret", "code=the-code", "grant_type=authorization_code"):
        assert part in seen[0]
    with mock.patch.object(prov, "fetch", lambda url: b'{"errcode": 40029, "errmsg": "invalid code"}'):
        with pytest.raises(wechat.WechatError):
            prov.exchange("bad")
    with mock.patch("urllib.request.urlopen", side_effect=OSError("no network")):
        with pytest.raises(wechat.WechatError) as exc:
            prov.exchange("x")
    assert "s3cret" not in str(exc.value)  # the URL (with the secret) is never in the error
    assert "appid=wx-app" in prov.authorize_url("https://example.org/m/wechat/", "st") and "#wechat_redirect" in prov.authorize_url("u", "s")
