"""Key rotation, the audit commands, PIPL export/erase, backup and restore."""

import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from gridgov.accounts.models import Role, User
from gridgov.core import audit, crypto, privacy
from gridgov.core.models import AuditEntry
from gridgov.core.validators import id_check_char
from gridgov.registry import services
from gridgov.registry.models import Organization, Resident, Volunteer


def make_id(seq, birth="19700101"):
    first = f"110106{birth}{seq:03d}"
    return first + id_check_char(first)


@pytest.fixture
def people(street):
    out = {}
    for i in range(1, 4):
        out[i] = services.create_resident(name=f"测试{i}", id_number=make_id(i), phone=f"1350000{i:04d}",
                                          grid=street["c1g1m1"], household_no=f"H{i}", tags=["elderly"])
    services.create_organization(name="店", kind="shop", grid=street["c1g1m1"], phone="13800001111")
    return out


def _tokens():
    rows = []
    for model, names in privacy.encrypted_fields():
        rows += [(model._meta.label, *r) for r in model._base_manager.values_list("pk", *names)]
    return rows


def test_rotate_keys_reencrypts_every_field_idempotently(people, settings, capsys):
    user = User.objects.create(username="u1", role=Role.GRID_WORKER)
    user.phone_enc = crypto.encrypt("13911112222")
    user.totp_secret_enc = crypto.encrypt("JBSWY3DPEHPK3PXP")
    user.save()
    old = settings.FIELD_KEYS[0]
    new = Fernet.generate_key().decode()
    settings.FIELD_KEYS = [new, old]  # step 1: the new key first, the old one still there
    with pytest.raises(CommandError):
        call_command("rotate-keys", "--check")
    call_command("rotate-keys", "--batch-size", "2")
    out = capsys.readouterr().out
    assert "registry.Resident: 3/3" in out and "accounts.User" in out
    call_command("rotate-keys", "--check")
    call_command("rotate-keys")  # idempotent
    settings.FIELD_KEYS = [new]  # step 3: drop the old key; everything still reads
    assert [crypto.decrypt(Resident.objects.get(pk=r.pk).id_number_enc) for r in people.values()] == [make_id(i) for i in (1, 2, 3)]
    user.refresh_from_db()
    assert crypto.decrypt(user.totp_secret_enc) == "JBSWY3DPEHPK3PXP" and crypto.decrypt(user.phone_enc) == "13911112222"
    assert crypto.decrypt(Organization.objects.get().phone_enc) == "13800001111"
    labels = {m._meta.label for m, _ in privacy.encrypted_fields()}
    assert {"registry.Resident", "registry.Organization", "registry.Volunteer", "accounts.User",
            "open311.Open311Request"} <= labels
    assert audit.verify() == []


def test_audit_commands_detect_alteration_and_deletion(people, capsys):
    w = User.objects.create(username="w", role=Role.LEADER)
    for r in people.values():
        services.reveal(w, r, "phone")
    call_command("audit", "verify")
    assert "intact: 3 entries" in capsys.readouterr().out
    call_command("audit", "list", "--user", "w", "--since", "2000-01-01")
    out = capsys.readouterr().out
    assert out.count("\treveal\t") == 3 and "registry.resident#" in out
    call_command("audit", "list", "--user", "nobody")
    assert capsys.readouterr().out == ""
    second = AuditEntry.objects.order_by("id")[1]
    AuditEntry.objects.filter(pk=second.pk).update(username="mallory")
    with pytest.raises(CommandError, match="broken"):
        call_command("audit", "verify")
    assert f"entry {second.pk}: content does not match" in capsys.readouterr().err
    AuditEntry.objects.filter(pk=second.pk).update(username="w")
    call_command("audit", "verify")
    AuditEntry.objects.filter(pk=second.pk).delete()
    with pytest.raises(CommandError, match="broken"):
        call_command("audit", "verify")
    assert "previous hash does not match" in capsys.readouterr().err


def test_pipl_export_and_erase(people, street, tmp_path):
    from django.utils import timezone

    from gridgov.cases.models import Case

    r = people[1]
    account = User.objects.create(username="jia", role=Role.RESIDENT, phone_hash=r.phone_hash)
    vol = services.create_volunteer(name="测试1", kind="volunteer", phone="1350000" + "0001", resident=r, grid=r.grid)
    now = timezone.now()
    case = Case.objects.create(channel="resident", text="路灯坏了", reporter=account, created_at=now, updated_at=now)
    from gridgov.cases.models import CaseEvent
    from gridgov.core.freetext import protect

    masked, original = protect("我的电话13512345678，灯坏了")
    typed = Case.objects.create(channel="resident", text=masked, text_enc=original, reporter=account, created_at=now, updated_at=now)
    note = CaseEvent.objects.create(case=typed, at=now, actor=account, action="rate", to_state="closed", note=masked, note_enc=original)
    assert original  # the original is kept encrypted (the export reads it)
    out = tmp_path / "p.json"
    call_command("pipl", "export", str(r.pk), "--out", str(out))
    data = json.loads(out.read_text())
    assert data["resident"]["id_number"] == make_id(1) and data["resident"]["phone"] == "13500000001"
    assert data["volunteer_records"][0]["phone"] == "13500000001"
    assert sorted(c["text"] for c in data["cases"]) == ["我的电话13512345678，灯坏了", "路灯坏了"]
    assert data["accounts"][0]["username"] == "jia"
    assert AuditEntry.objects.filter(action="pipl_export", object_id=str(r.pk)).count() == 1

    call_command("pipl", "erase", str(r.pk), "--anonymise")
    r.refresh_from_db()
    assert r.name == "匿名" and not r.id_number_enc and not r.phone_enc and not r.id_number_hash and not r.household_no
    assert r.grid_id == street["c1g1m1"].pk and r.tags == ["elderly"] and r.birth_date.month == 1  # statistics kept
    case.refresh_from_db()
    assert case.reporter_id is None and case.text == "路灯坏了"  # the case stays, the link goes
    typed.refresh_from_db(); note.refresh_from_db()
    assert typed.text == masked and "13512345678" not in typed.text  # the masked text stays ...
    assert typed.text_enc == "" and note.note_enc == ""  # ... the original of what they typed goes
    vol.refresh_from_db()
    assert vol.resident_id is None and not vol.phone_enc
    assert Resident.objects.count() == 3

    call_command("pipl", "erase", str(people[2].pk))
    assert not Resident.objects.filter(pk=people[2].pk).exists() and Resident.objects.count() == 2
    assert AuditEntry.objects.filter(action="pipl_erase").count() == 2
    assert audit.verify() == []
    with pytest.raises(CommandError, match="no resident"):
        call_command("pipl", "erase", "999999")


@pytest.mark.django_db(transaction=True)
def test_backup_restore_round_trip(tmp_path, capsys):
    from gridgov.testing import make_small_street

    nodes = make_small_street()
    for i in range(1, 6):
        services.create_resident(name=f"备份{i}", id_number=make_id(i), phone=f"1350000{i:04d}", grid=nodes["c2g1m2"])
    leader = User.objects.create(username="boss", role=Role.LEADER)
    for r in Resident.objects.all():
        services.reveal(leader, r, "id_number")
    before = _tokens()
    entries = AuditEntry.objects.count()
    path = tmp_path / "gridgov.backup"
    call_command("backup", "--out", str(path))
    raw = path.read_bytes()
    if connection.vendor == "postgresql":
        import subprocess

        raw = subprocess.run(["pg_restore", "-f", "-", str(path)], capture_output=True, check=True).stdout
    for i in range(1, 6):  # ciphertext only in the backup
        assert make_id(i).encode() not in raw and f"1350000{i:04d}".encode() not in raw
    assert "备份1".encode() in raw  # (names are not encrypted: the backup is real)

    Resident.objects.filter(name__in=["备份1", "备份2"]).delete()
    audit.record(leader, "reveal", object_type="x", object_id="1")
    call_command("restore", str(path))
    assert "audit chain intact" in capsys.readouterr().out
    connection.close()
    assert Resident.objects.count() == 5 and _tokens() == before
    assert AuditEntry.objects.count() == entries + 1  # the backup's own entry
    assert audit.verify() == []
    assert crypto.decrypt(Resident.objects.get(name="备份3").id_number_enc) == make_id(3)

    bad = tmp_path / "bad.backup"
    bad.write_bytes(b"not a backup")
    with pytest.raises(CommandError):
        call_command("restore", str(bad))
