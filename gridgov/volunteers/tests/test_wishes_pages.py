"""The wish wall's pages: the phone's wall (cards without the person), posting, claiming,
fulfilling with a photo, confirming; the staff's list with counts, posting for a resident and a
wish's page with personal data only where allowed; English on request."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from gridgov.core.models import AuditEntry
from gridgov.volunteers import wishes
from gridgov.volunteers.models import ServiceRecord, Wish
from gridgov.web.tests.test_i18n import EN, leftover_chinese

from .wishes_world import build, jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(street):
    return build(street)


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def test_the_phone_loop_and_the_wall_hides_the_person(w):
    elder = w["elder_c1"]
    wish = wishes.post_for(w["worker_c1"], elder.pk, "想要一台收音机")
    vc = _client(w["vol"])
    wall = vc.get("/m/volunteer/wishes/")
    html = wall.content.decode()
    assert wall.status_code == 200 and "想要一台收音机" in html and f'data-wish="{wish.pk}"' in html
    assert elder.name not in html and "1号楼" not in html
    assert elder.name not in vc.get(f"/m/volunteer/wishes/{wish.pk}/").content.decode()
    # claim from the wall: the wish's page now shows whom to visit (audited)
    r = vc.post(f"/m/volunteer/wishes/{wish.pk}/claim/", {"kind": "volunteer"})
    assert r.status_code == 302
    page = vc.get(f"/m/volunteer/wishes/{wish.pk}/").content.decode()
    assert elder.name in page and "1号楼1单元101" in page and 'capture="environment"' in page
    assert AuditEntry.objects.filter(user=w["vol"], action="reveal").exists()
    # another volunteer: 409 with a message, and still no person
    other = _client(w["vol2"]).post(f"/m/volunteer/wishes/{wish.pk}/claim/", {"kind": "volunteer"})
    assert other.status_code == 409 and "已被认领" in other.content.decode()
    assert elder.name not in other.content.decode()
    # fulfil with a photo; a missing photo answers 400
    assert vc.post(f"/m/volunteer/wishes/{wish.pk}/fulfil/", {"note": "x"}).status_code == 400
    up = SimpleUploadedFile("p.jpg", jpeg(), content_type="image/jpeg")
    assert vc.post(f"/m/volunteer/wishes/{wish.pk}/fulfil/", {"note": "送到了", "photo": up}).status_code == 302
    assert vc.get(f"/m/volunteer/wishes/{wish.pk}/photo/").status_code == 200
    assert _client(w["vol2"]).get(f"/m/volunteer/wishes/{wish.pk}/photo/").status_code == 404
    mine = vc.get("/m/volunteer/wishes/mine/").content.decode()
    assert "想要一台收音机" in mine
    # the worker confirms on their phone
    wc = _client(w["worker_c1"])
    assert "确认已圆梦" in wc.get(f"/m/volunteer/wishes/{wish.pk}/").content.decode()
    assert vc.post(f"/m/volunteer/wishes/{wish.pk}/confirm/").status_code == 403
    assert wc.post(f"/m/volunteer/wishes/{wish.pk}/confirm/").status_code == 302
    assert Wish.objects.get(pk=wish.pk).state == "confirmed"
    assert ServiceRecord.objects.filter(key=f"wish:{wish.pk}", user=w["vol"]).exists()


def test_a_resident_posts_on_the_phone(w):
    c = _client(w["resident_user"])
    page = c.get("/m/volunteer/wishes/new/").content.decode()
    assert "第1社区第1网格第1微网格" in page  # linked to the registry: no location asked
    r = c.post("/m/volunteer/wishes/new/", {"title": "想学用智能手机", "description": "", "group": ""})
    assert r.status_code == 302
    wish = Wish.objects.get()
    assert wish.owner == w["resident_user"] and r["Location"] == f"/m/volunteer/wishes/{wish.pk}/?posted=1"
    bad = _client(w["stranger"]).post("/m/volunteer/wishes/new/", {"title": "没有位置"})
    assert bad.status_code == 400 and 'id="wish-locate"' in bad.content.decode()
    assert Client().get("/m/volunteer/wishes/").status_code == 302  # to the login


def test_staff_pages_scope_counts_and_personal(w):
    a = wishes.post_for(w["worker_c1"], w["elder_c1"].pk, "c1的心愿")
    b = wishes.post_for(w["worker_c2"], w["elder_c2"].pk, "c2的心愿")
    wishes.claim(w["vol"], a.pk)
    s1 = _client(w["staff_c1"])
    html = s1.get("/volunteers/wishes/").content.decode()
    assert "c1的心愿" in html and "c2的心愿" not in html and w["elder_c1"].name in html
    assert 'data-state="claimed" data-count="1"' in html and 'data-state="open" data-count="0"' in html
    assert s1.get(f"/volunteers/wishes/{b.pk}/").status_code == 404
    detail = s1.get(f"/volunteers/wishes/{a.pk}/").content.decode()
    assert w["elder_c1"].name in detail and "1号楼" in detail and "认领" in detail
    # the leader: everything, without whose it is
    lead = _client(w["leader"])
    html = lead.get("/volunteers/wishes/").content.decode()
    assert "c1的心愿" in html and "c2的心愿" in html
    assert w["elder_c1"].name not in html and w["elder_c2"].name not in html
    assert w["elder_c2"].name not in lead.get(f"/volunteers/wishes/{b.pk}/").content.decode()
    assert _client(w["vol"]).get("/volunteers/wishes/").status_code == 403
    # the worker posts for a resident of their grid; not for c2's
    wc = _client(w["worker_c1"])
    form = wc.get("/volunteers/wishes/new/").content.decode()
    assert w["elder_c1"].name in form and w["elder_c2"].name not in form
    r = wc.post("/volunteers/wishes/new/", {"resident": w["elder_c1"].pk, "title": "买药"})
    assert r.status_code == 302
    assert wc.post("/volunteers/wishes/new/", {"resident": w["elder_c2"].pk, "title": "买药"}).status_code == 403
    assert _client(w["leader"]).get("/volunteers/wishes/new/").status_code == 403
    # staff cancel from the wish's page
    assert s1.post(f"/volunteers/wishes/{a.pk}/cancel/", {"reason": "已解决"}).status_code == 302
    assert Wish.objects.get(pk=a.pk).state == "cancelled"


def test_pages_in_english(w):
    a = wishes.post_for(w["worker_c1"], w["elder_c1"].pk, "想要一台收音机")
    wishes.claim(w["vol"], a.pk)
    data = ["想要一台收音机", w["elder_c1"].name, w["house_c1"].address.text, "第1社区", "第1社区第1网格第1微网格",
            "gw_c1", "vol1", "cs_c1"]
    for user, url in ((w["vol"], "/m/volunteer/wishes/"), (w["vol"], "/m/volunteer/wishes/mine/"),
                      (w["vol"], f"/m/volunteer/wishes/{a.pk}/"), (w["stranger"], "/m/volunteer/wishes/new/"),
                      (w["staff_c1"], "/volunteers/wishes/"), (w["staff_c1"], f"/volunteers/wishes/{a.pk}/"),
                      (w["worker_c1"], "/volunteers/wishes/new/")):
        r = _client(user).get(url, **EN)
        assert r.status_code == 200, url
        assert not leftover_chinese(r.content.decode(), data), (url, leftover_chinese(r.content.decode(), data))
