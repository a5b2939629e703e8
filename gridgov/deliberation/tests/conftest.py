import pytest


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def w(street):
    from .world import build

    return build(street)


@pytest.fixture(autouse=True)
def _processes(request):
    """The seeded processes (migration 0002): a transactional test elsewhere may have flushed them."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db", "street", "w"} & set(request.fixturenames)
    if uses_db:
        request.getfixturevalue("_django_db_helper")
        from gridgov.deliberation.processes import seed

        seed()
    yield
