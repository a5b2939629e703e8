import pytest

from gridgov.cases.tests.conftest import P_C1G1, P_C2G2, fast_passwords_and_scratch_media, people, report, taxonomy  # noqa: F401


@pytest.fixture
def api_key(db):
    from gridgov.open311 import services

    key, raw = services.create_key("test-client", rate_per_minute=0)
    return raw


@pytest.fixture
def post(client, api_key):
    """POST a service request (form-encoded, as the spec says); returns the response."""

    def _post(fmt="json", headers=None, key=None, **fields):
        data = {"api_key": api_key if key is None else key, "service_code": "PS01", "lat": str(P_C1G1[1]),
                "long": str(P_C1G1[0]), "description": "小区门口的路灯坏了", **fields}
        data = {k: v for k, v in data.items() if v is not None}
        return client.post(f"/open311/v2/requests.{fmt}", data, headers=headers or {})

    return _post
