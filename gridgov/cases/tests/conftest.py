import pytest

from gridgov.accounts.models import Duty, GridAssignment, Role
from gridgov.testing import make_user

from . import images as _images

# A point inside micro-grid c1g1m1 (community 1, grid 1) of the small street, and one in c2g2.
P_C1G1 = (116.383, 39.787)
P_C2G2 = (116.397, 39.782)
PNG = _images.png()
JPEG = _images.jpeg_with_gps()


@pytest.fixture(autouse=True)
def fast_passwords_and_scratch_media(settings, tmp_path):
    """make_user hashes a password (the default hasher takes ~0.4 s per user); photos go to a
    scratch directory instead of the data directory."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def taxonomy(db):
    from gridgov.cases.taxonomy import seed_taxonomy

    seed_taxonomy()


@pytest.fixture
def people(street, taxonomy):
    """The handlers of the small street: a leader on each grid of community 1, its secretary,
    section staff and leaders, a resident and two volunteers."""
    p = {
        "gl": make_user("gl", Role.GRID_LEADER, [street["c1g1"]], duty=Duty.LEADER),
        "gl2": make_user("gl2", Role.GRID_LEADER, [street["c1g2"]], duty=Duty.LEADER),
        "worker": make_user("worker", Role.GRID_WORKER, [street["c1g1"]]),
        "sec": make_user("sec", Role.COMMUNITY_SECRETARY, [street["c1"]], duty=Duty.SECRETARY),
        "cstaff": make_user("cstaff", Role.COMMUNITY_STAFF, [street["c1"]], duty=Duty.STAFF),
        "sec2": make_user("sec2", Role.COMMUNITY_SECRETARY, [street["c2"]], duty=Duty.SECRETARY),
        "section": make_user("section", Role.SECTION_STAFF),
        "other_section": make_user("other_section", Role.SECTION_STAFF),
        "lic": make_user("lic", Role.LEADER),
        "principal": make_user("principal", Role.LEADER),
        "resident": make_user("resident", Role.RESIDENT),
        "neighbour": make_user("neighbour", Role.RESIDENT),
        "vol": make_user("vol", Role.VOLUNTEER),
        "vol2": make_user("vol2", Role.VOLUNTEER),
    }
    for name, dep in (("section", "城市管理办公室"), ("other_section", "平安建设办公室"), ("lic", "城市管理办公室")):
        p[name].department = dep
        p[name].save()
    GridAssignment.objects.create(user=p["principal"], node=street["street"], duty=Duty.SECRETARY)
    return p


@pytest.fixture
def report(people):
    """File a report as the resident (lamp in c1g1 unless told otherwise)."""
    from gridgov.cases import services

    def _report(text="小区门口的路灯坏了，晚上一片漆黑", point=P_C1G1, user=None, **kw):
        kw.setdefault("channel", "resident")
        case, created = services.submit_case(reporter=user or people["resident"], text=text, lon=point[0], lat=point[1], **kw)
        assert created
        return case

    return _report
