import pytest

from gridgov.geo import locator


@pytest.fixture(autouse=True)
def fresh_locator():
    """Drop the process-wide locator: test transactions are rolled back, so the grid version can
    repeat while ids differ (PostgreSQL sequences are not rolled back)."""
    locator._locator = None
    locator.invalidate_locator()
    yield
    locator._locator = None
    locator.invalidate_locator()


@pytest.fixture
def places(street):
    """Standard addresses in the small street (see gridgov.hotline.tests.util.make_places)."""
    from .util import make_places

    return make_places(street)
