"""Issue 16, item 12: /m/register/ accepted a number the person did not hold and said which
numbers were registered. Now a one-time code goes to the number (SMS, or the console in
development), never into the page; the answer is the same for a registered number, whose owner
is told to log in instead; the code expires, is used once and allows a few tries."""

import logging
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from gridgov.accounts.models import PhoneCode, Role, User
from gridgov.cases import notify
from gridgov.cases.models import Notification
from gridgov.cases.tests.test_notify import server  # noqa: F401 (a local SMS gateway)
from gridgov.testing import make_user, sent_code

PHONE = "13912345678"
FORM = {"phone": PHONE, "display_name": "", "password": "garden-path-2024", "password2": "garden-path-2024"}


def _strip(html: str) -> str:
    """The page without its per-request tokens (CSRF), to compare two answers."""
    import re

    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def _start(client, **over):
    r = client.post("/m/register/", {**FORM, **over})
    assert r.status_code == 302 and r["Location"] == "/m/register/", r.content.decode()[:500]
    return client.get("/m/register/")


def test_registration_needs_the_code_sent_to_the_phone(client, db):
    page = _start(client)
    code = sent_code(PHONE)
    assert not User.objects.filter(role=Role.RESIDENT).exists()  # nothing before the code
    assert code not in page.content.decode() and "139****5678" in page.content.decode()
    r = client.post("/m/register/", {"code": code})
    assert r.status_code == 302 and r["Location"] == "/m/"
    user = User.objects.get(phone_masked="139****5678")
    assert user.check_password("garden-path-2024") and client.get("/m/").status_code == 200


def test_a_registered_number_gets_the_same_answer_and_its_owner_a_note(db):
    make_user("owner", Role.RESIDENT)
    User.objects.filter(username="owner").update(**_phone_fields(PHONE))
    registered = _start(Client(), phone=PHONE)
    new = _start(Client(), phone="13800001111")
    assert _strip(registered.content.decode()).replace("139****5678", "X") == _strip(new.content.decode()).replace("138****1111", "X")
    # the owner is told to log in; no code exists for the number, so none answers
    note = Notification.objects.filter(recipient=None).order_by("id").first()
    assert note.kind == "register_known" and "登录" in note.title and "secret_enc" not in note.payload
    decoy = PhoneCode.objects.order_by("id").first()
    assert decoy.code_hash == ""
    c = Client()
    _start(c, phone=PHONE)
    for guess in ("000000", "123456"):
        r = c.post("/m/register/", {"code": guess})
        assert r.status_code == 200 and "验证码不正确" in r.content.decode()
    assert User.objects.filter(role=Role.RESIDENT).count() == 1


def _phone_fields(phone):
    from gridgov.core.crypto import blind_index, encrypt, mask_phone

    return {"phone_enc": encrypt(phone), "phone_hash": blind_index(phone), "phone_masked": mask_phone(phone)}


def test_a_code_is_used_once(db):
    c = Client()
    _start(c)
    code = sent_code(PHONE)
    pk = c.session["register_code"]
    assert c.post("/m/register/", {"code": code}).status_code == 302
    from gridgov.mobile.services import CodeInvalid, finish_registration

    with pytest.raises(CodeInvalid):
        finish_registration(pk, code)
    assert User.objects.filter(role=Role.RESIDENT).count() == 1


def test_a_code_expires(client, db):
    _start(client)
    code = sent_code(PHONE)
    PhoneCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    r = client.post("/m/register/", {"code": code})
    assert r.status_code == 200 and "验证码不正确" in r.content.decode() and not User.objects.filter(role=Role.RESIDENT).exists()


def test_a_code_allows_five_tries(client, db):
    _start(client)
    code = sent_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert "验证码不正确" in client.post("/m/register/", {"code": wrong}).content.decode()
    r = client.post("/m/register/", {"code": code})  # the right one, too late
    assert "验证码不正确" in r.content.decode() and not User.objects.filter(role=Role.RESIDENT).exists()


def test_codes_per_number_are_limited(db):
    for _ in range(5):
        _start(Client())
    r = Client().post("/m/register/", FORM)
    assert r.status_code == 200 and "过于频繁" in r.content.decode()
    assert Notification.objects.filter(kind="register_code").count() == 5


@pytest.mark.django_db(transaction=True)
def test_two_requests_cannot_both_use_a_code():
    from gridgov.cases.tests.test_concurrency import race
    from gridgov.mobile.services import finish_registration

    c = Client()
    _start(c)
    pk, code = c.session["register_code"], sent_code(PHONE)
    results = race(lambda i: finish_registration(pk, code), n=4)
    assert sum(isinstance(r, User) for r in results) == 1, results


@pytest.mark.parametrize("debug", [True, False])
def test_the_console_logs_no_code_names_or_texts_and_shows_the_code_on_stdout_in_development(db, caplog, capsys, settings, debug):
    settings.CASES_NOTIFY_CHANNELS = "console"
    settings.DEBUG = debug
    _start(Client())
    code = sent_code(PHONE)
    capsys.readouterr()
    with caplog.at_level(logging.DEBUG):
        notify.deliver()
    text = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert code not in text and "139****5678" in text and PHONE not in text
    out = capsys.readouterr().out  # the developer's console: with DEBUG only
    assert (code in out) is debug and PHONE not in out
    # once sent, the code is no longer kept in the outbox
    assert all("secret_enc" not in n.payload for n in Notification.objects.all())


def test_with_an_sms_gateway_the_code_goes_by_sms_only(db, caplog, server):
    url, received = server
    with override_settings(CASES_NOTIFY_CHANNELS="console,sms", CASES_SMS_GATEWAY_URL=url + "/sms",
                           CASES_SMS_TEMPLATE="T-notice", CASES_SMS_CODE_TEMPLATE="T-code"):
        page = _start(Client())
        code = sent_code(PHONE)
        with caplog.at_level(logging.WARNING, logger="gridgov.cases.notify"):
            assert notify.deliver()["sent"] == 2  # console and sms
    (sms,) = received
    assert sms["body"]["phone"] == PHONE and sms["body"]["template"] == "T-code" and sms["body"]["params"] == {"code": code}
    assert code not in caplog.text and "139****5678" in caplog.text and code not in page.content.decode()
