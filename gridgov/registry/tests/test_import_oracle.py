"""Imports are no oracle: what an import answers must not tell whether a record exists outside
the importer's scope, and look-ups by ID number stay in scope.

The probe: a community secretary uploads a file with another community's resident's ID number
and one bad row (so that nothing is ever written) and read "已在您负责范围以外登记" (with update)
or "已登记" (without) for numbers that exist, nothing for numbers that do not; a volunteer row
with such an ID number was linked to that resident. Now the validation answers the same for a
number registered elsewhere and for one registered nowhere; only a file with no other error
meets the record it cannot create (one neutral message, audited), and a volunteer is linked only
to a resident the importer may see."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from gridgov.accounts.models import Role
from gridgov.core.models import AuditEntry
from gridgov.registry import services
from gridgov.registry.models import Resident, Volunteer
from gridgov.testing import make_user

from .conftest import make_id, write_csv
from .test_imports import RES_HEAD, res_row

ELSEWHERE = make_id("19550505", 7)  # registered in community 2
NOWHERE = make_id("19550505", 9)  # registered nowhere
MINE = make_id("19550505", 5)  # registered in community 1


@pytest.fixture
def world(base):
    services.create_resident(name="外社区居民", id_number=ELSEWHERE, phone="13900000007", house=base["house_a3"])
    services.create_resident(name="本社区居民", id_number=MINE, phone="13900000005", house=base["house_a1"])
    c = Client()
    c.force_login(make_user("sec1", Role.COMMUNITY_SECRETARY, [base["c1"]]))
    return {**base, "client": c}


def upload(world, tmp_path, rows, kind="residents", update=False):
    path = write_csv(tmp_path / f"{kind}.csv", rows)
    data = {"file": SimpleUploadedFile("r.csv", path.read_bytes())}
    if update:
        data["update"] = "true"
    r = world["client"].post(f"/api/registry/import/{kind}", data)
    return r.status_code, r.json()


def without_values(answer):
    """An answer with the echoed cell values left out (they repeat what the importer typed)."""
    status, body = answer
    return status, {**body, "errors": [{k: v for k, v in e.items() if k != "value"} for e in body["errors"]]}


def resident_row(idn, i=1, **over):
    return res_row(i, **{"身份证号": idn, "姓名": f"新居民{i}", **over})


@pytest.mark.parametrize("update", [False, True])
def test_validation_answers_the_same_for_elsewhere_and_nowhere(world, tmp_path, update):
    """One bad row keeps the file from being written: the probe that cost nothing."""
    answers = {}
    for idn in (ELSEWHERE, NOWHERE):
        bad = res_row(2, 联系电话="bad")
        answers[idn] = upload(world, tmp_path, [RES_HEAD, resident_row(idn), bad], update=update)
    assert answers[ELSEWHERE] == answers[NOWHERE]
    status, body = answers[ELSEWHERE]
    assert status == 400 and [(e["row"], e["column"]) for e in body["errors"]] == [(3, "联系电话")]
    assert Resident.objects.count() == 2


def test_a_file_with_no_other_error_meets_a_neutral_refusal(world, tmp_path):
    """A unique registry cannot register the same person twice: the file that would be written
    is refused, with one message that names no scope, and the attempt is audited."""
    for update in (False, True):
        status, body = upload(world, tmp_path, [RES_HEAD, resident_row(ELSEWHERE, 1), resident_row(NOWHERE, 2)], update=update)
        assert status == 400 and body["created"] == 0
        [e] = body["errors"]
        assert (e["row"], e["column"]) == (2, "身份证号")
        assert "范围" not in e["reason"] and "scope" not in e["reason"] and "街道管理员" in e["reason"]
    assert Resident.objects.count() == 2  # nothing written, the other community's resident untouched
    assert Resident.objects.get(name="外社区居民").grid_id == world["a3"].grid_id
    entries = AuditEntry.objects.filter(action="import_conflict", username="sec1")
    assert entries.count() == 2 and entries.first().object_type == "registry.resident"
    # the number registered nowhere is created; the one in the importer's own scope is updated
    status, body = upload(world, tmp_path, [RES_HEAD, resident_row(NOWHERE, 2)])
    assert (status, body["created"]) == (200, 1)
    status, body = upload(world, tmp_path, [RES_HEAD, resident_row(MINE, 3)])
    assert status == 400 and "--update" in body["errors"][0]["reason"]  # in scope: the importer sees it anyway
    assert upload(world, tmp_path, [RES_HEAD, resident_row(MINE, 3)], update=True)[1]["updated"] == 1


VOL_HEAD = ["姓名", "类型", "联系电话", "身份证号", "所属网格"]


def test_volunteer_links_only_to_a_resident_the_importer_sees(world, tmp_path):
    g = world["c1g1"].code
    answers = {}
    for idn in (ELSEWHERE, NOWHERE):
        answers[idn] = upload(world, tmp_path, [VOL_HEAD, ["周志愿", "志愿者", "13700003333", idn, g]], kind="volunteers")
    assert without_values(answers[ELSEWHERE]) == without_values(answers[NOWHERE])
    status, body = answers[ELSEWHERE]
    assert status == 400 and body["errors"][0]["reason"] == "未找到该身份证号对应的居民"
    assert not Volunteer.objects.exists()
    # without a grid, the resident's grid was the oracle (its scope error): the same answer too
    answers = {idn: upload(world, tmp_path, [VOL_HEAD, ["周志愿", "志愿者", "13700003333", idn, ""]], kind="volunteers")
               for idn in (ELSEWHERE, NOWHERE)}
    assert without_values(answers[ELSEWHERE]) == without_values(answers[NOWHERE])
    # a resident of the importer's own community is linked
    status, body = upload(world, tmp_path, [VOL_HEAD, ["周志愿", "志愿者", "13700003333", MINE, ""]], kind="volunteers")
    assert status == 200, body
    assert Volunteer.objects.get().resident.name == "本社区居民"


def test_volunteer_key_elsewhere_answers_like_a_new_one(world, tmp_path):
    """Volunteers are keyed by name and phone: the same rules as residents' ID numbers."""
    services.create_volunteer(name="吴志愿", kind="volunteer", phone="13700004444", grid=world["c2g1"])
    answers = {phone: upload(world, tmp_path, [VOL_HEAD, ["吴志愿", "志愿者", phone, "", world["c1g1"].code],
                                               ["坏行", "志愿者", "bad", "", world["c1g1"].code]], kind="volunteers")
               for phone in ("13700004444", "13700005555")}
    assert answers["13700004444"] == answers["13700005555"]

