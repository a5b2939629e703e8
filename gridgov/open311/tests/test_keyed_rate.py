"""Issue 10: a keyed Open311 client is limited by its key's own rate only, never by the anonymous
per-device or per-address limits (a city system posting from one server address got 429 after
120 an hour). A bogus or revoked key gets no exemption."""

import csv
import itertools
from pathlib import Path

from gridgov.cases.models import Case
from gridgov.cases.tests.conftest import P_C1G1
from gridgov.open311 import services

V2 = "/open311/v2"
# ../shared/data from the project root (the main checkout), or /work/shared/data from a worktree
_ROOT = Path(__file__).resolve().parents[3]
LA311 = next(
    (p for p in (_ROOT.parent / "shared" / "data", Path("/work/shared/data")) if (p / "la311").is_dir()),
    _ROOT.parent / "shared" / "data",
) / "la311" / "requests_2020.csv"


def la_requests(n):
    """n Open311 bodies replaying Los Angeles 311 requests (type, address, source) at points of
    the test street; synthetic ones when the data is not there."""
    if LA311.exists():
        with LA311.open(newline="") as f:
            rows = [r for r in itertools.islice(csv.DictReader(f), n)]
    else:
        rows = []
    rows += [{"requesttype": "Graffiti Removal", "address": f"{i} MAIN ST", "srnumber": f"x{i}"} for i in range(n - len(rows))]
    for i, r in enumerate(rows):
        yield {"service_code": "PS01", "lat": f"{P_C1G1[1] + (i % 7) * 1e-5:.6f}", "long": f"{P_C1G1[0]:.6f}",
               "description": f"{r['requesttype']} at {r['address']} (LA {r['srnumber']})"}


def test_a_keyed_client_replays_1500_requests_from_one_address_without_429(client, people, settings):
    settings.RATE_LIMIT_PER_ADDRESS = "120/3600"
    settings.RATE_LIMIT_PER_DEVICE = "20/3600"
    _, raw = services.create_key("city-system", rate_per_minute=0)
    codes = {}
    for body in la_requests(1500):
        status = client.post(f"{V2}/requests.json", {**body, "api_key": raw}, REMOTE_ADDR="10.1.2.3").status_code
        codes[status] = codes.get(status, 0) + 1
    assert codes == {201: 1500}
    assert Case.objects.count() == 1500


def test_a_key_with_rate_10_a_minute_gets_429_on_the_11th(client, people, settings):
    settings.RATE_LIMIT_PER_ADDRESS = "120/3600"
    _, raw = services.create_key("slow", rate_per_minute=10)
    codes = [client.post(f"{V2}/requests.json", {**body, "api_key": raw}).status_code for body in la_requests(11)]
    assert codes == [201] * 10 + [429]
    assert Case.objects.count() == 10


def test_a_bogus_or_revoked_key_is_still_limited_per_address(client, people, settings):
    settings.RATE_LIMIT_PER_ADDRESS = "2/3600"
    settings.RATE_LIMIT_PER_DEVICE = "0/60"
    _, raw = services.create_key("gone", rate_per_minute=0)
    services.revoke_key("gone")
    prefix = raw.split("_")[1]
    bogus = [raw, f"gg_{prefix}_not-the-secret", "gg_ffffffff_nothing", "anything"]
    codes = [client.post(f"{V2}/requests.json", {**body, "api_key": k}).status_code
             for body, k in zip(la_requests(4), bogus)]
    assert codes == [403, 403, 429, 429]  # refused for the key, then over the address's limit
    # and the header form too
    r = client.post(f"{V2}/requests.json", next(la_requests(1)), headers={"X-API-Key": "gg_ffffffff_x"})
    assert r.status_code == 429 and r["Retry-After"]


def test_keyed_reads_are_not_limited_per_address_but_by_the_key(client, people, settings):
    settings.RATE_LIMIT_READS_PER_ADDRESS = "3/60"
    _, unlimited = services.create_key("reader", rate_per_minute=0, can_submit=False)
    _, slow = services.create_key("slow-reader", rate_per_minute=5, can_submit=False)
    assert all(client.get(f"{V2}/services.json", {"api_key": unlimited}).status_code == 200 for _ in range(10))
    assert all(client.get(f"{V2}/services.json", headers={"X-API-Key": unlimited}).status_code == 200 for _ in range(5))
    assert [client.get(f"{V2}/services.json", {"api_key": slow}).status_code for _ in range(6)] == [200] * 5 + [429]
    # without a key (or with a bogus one) the per-address limit holds
    codes = [client.get(f"{V2}/services.json", {"api_key": "gg_00000000_x"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
