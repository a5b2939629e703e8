import pytest

from gridgov.geo import locator


@pytest.fixture(autouse=True)
def fresh_locator():
    """Each test starts with a stale process-wide locator (test transactions are rolled back)."""
    locator.invalidate_locator()
    yield
    locator.invalidate_locator()
