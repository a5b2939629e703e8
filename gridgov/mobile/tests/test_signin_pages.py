"""Issue 10: on the phone report page (/m/) an anonymous resident types their number, then the
SMS code, then reports: no registration, no password. Staff keep the password login. WeChat's
web-view: a first sign-in binds the openid by the code, later ones need the openid alone."""

from django.test import Client

from gridgov.accounts.models import ExternalLogin, Role, User
from gridgov.cases.models import Case
from gridgov.cases.tests.conftest import P_C1G1
from gridgov.core.crypto import blind_index, encrypt, mask_phone
from gridgov.testing import make_user, sent_code

PHONE = "13912345678"


def code_for(phone=PHONE):
    return sent_code(phone, kind="login_code")


def test_number_code_report_in_one_flow(client, people):
    page = client.get("/m/")
    assert page.status_code == 200 and 'action="/m/signin/"' in page.content.decode() and 'name="phone"' in page.content.decode()
    r = client.post("/m/signin/", {"phone": PHONE})
    assert r.status_code == 302 and r["Location"] == "/m/signin/"
    page = client.get("/m/signin/").content.decode()
    code = code_for()
    assert "139****5678" in page and code not in page
    r = client.post("/m/signin/", {"code": code})
    assert r.status_code == 302 and r["Location"] == "/m/"
    page = client.get("/m/").content.decode()
    assert 'id="report-form"' in page
    r = client.post("/api/cases/", {"text": "小区门口路灯坏了", "lon": P_C1G1[0], "lat": P_C1G1[1]})
    assert r.status_code == 201, r.content
    user = User.objects.get(phone_hash=blind_index(PHONE))
    assert user.role == Role.RESIDENT and not user.has_usable_password()
    assert Case.objects.get(pk=r.json()["id"]).reporter_id == user.pk


def test_a_wrong_code_and_a_bad_number_are_told_on_the_page(client, db):
    page = client.post("/m/signin/", {"phone": "123"})
    assert page.status_code == 400 and "11位手机号" in page.content.decode()
    client.post("/m/signin/", {"phone": PHONE})
    code = code_for()
    page = client.post("/m/signin/", {"code": "000000" if code != "000000" else "111111"})
    assert page.status_code == 400 and "验证码不正确" in page.content.decode() and not User.objects.exists()
    assert client.get("/m/signin/?restart=1")["Location"] == "/m/signin/"
    assert 'name="phone"' in client.get("/m/signin/").content.decode()


def test_staff_are_not_signed_in_by_the_page_and_keep_their_password_login(client, db):
    staff = make_user("gw", Role.GRID_WORKER)
    User.objects.filter(pk=staff.pk).update(phone_enc=encrypt(PHONE), phone_hash=blind_index(PHONE), phone_masked=mask_phone(PHONE))
    assert client.post("/m/signin/", {"phone": PHONE})["Location"] == "/m/signin/"  # the same answer
    for guess in ("000000", "123456"):
        assert client.post("/m/signin/", {"code": guess}).status_code == 400
    assert "_auth_user_id" not in client.session
    r = client.post("/m/login/", {"username": "gw", "password": "a-long-test-password-1"})
    assert r.status_code == 302 and client.session["_auth_user_id"] == str(staff.pk)


def test_wechat_first_time_binds_by_code_then_the_openid_alone_signs_in(db, settings):
    settings.WECHAT_OAUTH_PROVIDER = "fake"
    c = Client()
    assert "/m/wechat/start/" in c.get("/m/").content.decode()
    r = c.get("/m/wechat/start/")
    assert r.status_code == 302 and r["Location"].startswith("http://testserver/m/wechat/?code=fake-dev-openid&state=")
    r = c.get(r["Location"])
    assert r["Location"] == "/m/signin/" and "首次用微信登录" in c.get("/m/signin/").content.decode()
    c.post("/m/signin/", {"phone": PHONE})
    assert c.post("/m/signin/", {"code": code_for()})["Location"] == "/m/"
    ext = ExternalLogin.objects.get()
    assert ext.subject == "dev-openid" and ext.user.phone_hash == blind_index(PHONE)
    c2 = Client()
    r = c2.get(c2.get("/m/wechat/start/")["Location"])
    assert r["Location"] == "/m/" and c2.session["_auth_user_id"] == str(ext.user_id)
    # a forged state (no OAuth round started by this browser) signs nobody in
    c3 = Client()
    assert c3.get("/m/wechat/?code=fake-dev-openid&state=x")["Location"] == "/m/signin/"
    assert "_auth_user_id" not in c3.session
