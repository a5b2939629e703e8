import pytest

from gridgov.geo import locator


@pytest.fixture(autouse=True)
def fresh_locator():
    locator.invalidate_locator()
    yield
    locator.invalidate_locator()


@pytest.fixture
def places(street):
    """Standard addresses in the small street (see gridgov.hotline.tests.util.make_places)."""
    from .util import make_places

    return make_places(street)
