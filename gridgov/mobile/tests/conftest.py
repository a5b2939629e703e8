import pytest

from gridgov.accounts.models import Duty, GridAssignment, Role
from gridgov.testing import make_user

# inside micro-grid c1g1m1 of the small street
P_C1G1 = (116.383, 39.787)


@pytest.fixture(autouse=True)
def fast_passwords_and_scratch_media(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def people(street):
    from gridgov.cases.taxonomy import seed_taxonomy

    seed_taxonomy()
    p = {
        "gl": make_user("gl", Role.GRID_LEADER, [street["c1g1"]], duty=Duty.LEADER),
        "sec": make_user("sec", Role.COMMUNITY_SECRETARY, [street["c1"]], duty=Duty.SECRETARY),
        "sec2": make_user("sec2", Role.COMMUNITY_SECRETARY, [street["c2"]], duty=Duty.SECRETARY),
        "resident": make_user("resident", Role.RESIDENT),
        "neighbour": make_user("neighbour", Role.RESIDENT),
        "vol": make_user("vol", Role.VOLUNTEER),
    }
    principal = make_user("principal", Role.LEADER)
    GridAssignment.objects.create(user=principal, node=street["street"], duty=Duty.SECRETARY)
    return p


@pytest.fixture
def report(people):
    from gridgov.cases import services

    def _report(text="小区门口的路灯坏了，晚上一片漆黑", point=P_C1G1, user=None, **kw):
        kw.setdefault("channel", "resident")
        case, created = services.submit_case(reporter=user or people["resident"], text=text, lon=point[0], lat=point[1], **kw)
        assert created
        return case

    return _report
