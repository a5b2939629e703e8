"""A verified case awards points: the volunteer who grabbed it, and a volunteer who reported it;
once per case, after the verification committed."""

import pytest

from gridgov.accounts.models import Duty, Role
from gridgov.cases import services as cases
from gridgov.testing import make_user
from gridgov.volunteers.models import Account, Transfer

pytestmark = pytest.mark.django_db

P_C1G1 = (116.383, 39.787)


@pytest.fixture
def people(street):
    from gridgov.cases.taxonomy import seed_taxonomy

    seed_taxonomy()
    return {
        "gl": make_user("gl", Role.GRID_LEADER, [street["c1g1"]], duty=Duty.LEADER),
        "sec": make_user("sec", Role.COMMUNITY_SECRETARY, [street["c1"]], duty=Duty.SECRETARY),
        "vol": make_user("vol", Role.VOLUNTEER),
        "reporter": make_user("rep", Role.VOLUNTEER),
    }


def test_grabbed_and_reported_case_awards_on_verification(people, django_capture_on_commit_callbacks):
    case, _ = cases.submit_case(reporter=people["reporter"], channel="resident", text="垃圾堆在路边没人清",
                                lon=P_C1G1[0], lat=P_C1G1[1], item="CC01")
    assert case.grabbable
    cases.grab(case, people["vol"])
    cases.resolve(case, people["vol"], note="已经清理干净了，路边恢复整洁")
    case.refresh_from_db()
    assert case.state == "resolved"
    with django_capture_on_commit_callbacks(execute=True):
        cases.verify(case, people["sec"])
    grab = Transfer.objects.get(key=f"award:case:{case.pk}:grab")
    rep = Transfer.objects.get(key=f"award:case:{case.pk}:report")
    assert (grab.amount, rep.amount) == (10, 5)
    vol = Account.objects.get(kind="volunteer", user=people["vol"])
    assert vol.balance == 10 and vol.node is None
    assert grab.actor == people["sec"]
    # each is a service record of its own door, naming the points it earned
    from gridgov.volunteers.models import ServiceRecord

    recs = {r.key: r for r in ServiceRecord.objects.all()}
    assert set(recs) == {f"case:{case.pk}:grab", f"case:{case.pk}:report"}
    assert recs[f"case:{case.pk}:grab"].source == "grab" and recs[f"case:{case.pk}:grab"].transfer == grab
    assert recs[f"case:{case.pk}:report"].user == people["reporter"]
    # a replay of the signal books nothing more
    from gridgov.volunteers.services import award_for_case

    award_for_case(case)
    assert Transfer.objects.count() == 2 and ServiceRecord.objects.count() == 2


def test_a_resident_report_earns_nothing(people, django_capture_on_commit_callbacks):
    res = make_user("res", Role.RESIDENT)
    case, _ = cases.submit_case(reporter=res, channel="resident", text="路灯坏了，晚上很黑", lon=P_C1G1[0], lat=P_C1G1[1])
    assert case.state in ("dispatched", "accepted", "submitted")
    from gridgov.volunteers.services import award_for_case

    award_for_case(case)
    assert Transfer.objects.count() == 0
