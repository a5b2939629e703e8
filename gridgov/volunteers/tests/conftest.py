import pytest

from gridgov.accounts.models import Role
from gridgov.testing import make_user


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def ledger_balances(request):
    """Every test that moves points ends with a ledger that verifies (a test that tampers with it
    puts it right before it ends). The database fixture is set up first, so this check runs
    before the test's rows are rolled back or flushed."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db", "street"} & set(request.fixturenames)
    if uses_db:
        request.getfixturevalue("_django_db_helper")
        from gridgov.volunteers.services import seed_rules

        seed_rules()  # (seeded by the migration; a transactional test elsewhere may have flushed them)
    yield
    if not uses_db:
        return
    from gridgov.volunteers.services import verify_ledger

    result = verify_ledger()
    assert not result["bad_accounts"] and not result["bad_transfers"], result


@pytest.fixture
def points(street):
    """A volunteer with 100 points from community 1, a station with its user and a reward."""
    from gridgov.registry.models import Place
    from gridgov.volunteers import services

    vol = make_user("vol", Role.VOLUNTEER)
    station_user = make_user("station", Role.RESIDENT)
    place = Place.objects.create(name="苑苑驿站", kind="service_station", grid=street["c1g1"], lat=39.787, lon=116.383)
    station = services.station_account(place, user=station_user)
    admin = make_user("admin", Role.ADMIN)
    reward = services.add_reward(admin, station, "矿泉水", price=30, stock=5)
    acc = services.volunteer_account(vol)
    services.correct(admin, acc, 100, "开户测试", key="seed:vol")
    acc.refresh_from_db()
    return {"vol": vol, "station_user": station_user, "station": station, "reward": reward, "admin": admin,
            "account": acc, "street": street, "place": place}
