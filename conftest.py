import pytest


@pytest.fixture
def street(db):
    from gridgov.testing import make_small_street

    return make_small_street()
