from gridgov.core import audit, crypto
from gridgov.core.models import AuditEntry
from gridgov.core.validators import id_number_error, phone_error


def test_encrypt_roundtrip_and_blind_index():
    token = crypto.encrypt("11010619900307001X")
    assert "11010619900307001X" not in token
    assert crypto.decrypt(token) == "11010619900307001X"
    assert crypto.blind_index("11010619900307001x ") == crypto.blind_index("11010619900307001X")


def test_masks():
    assert crypto.mask_id_number("110106199003070015") == "110***********0015"
    assert crypto.mask_phone("13812345678") == "138****5678"
    assert crypto.mask_name("张小明") == "张*明"


def test_id_number_checksum_gb11643():
    assert id_number_error("11010519491231002X") is None  # the standard's own example
    assert id_number_error("110105194912310021") is not None  # wrong check character
    assert id_number_error("110105194913310028") is not None  # month 13
    assert id_number_error("1101051949") is not None


def test_phone():
    assert phone_error("13812345678") is None
    assert phone_error("010-67991234") is None
    assert phone_error("12345") is not None


def test_audit_chain_detects_alteration_and_deletion(db):
    for i in range(5):
        audit.record(None, "reveal", object_type="registry.resident", object_id=i, fields="id_number")
    assert audit.verify() == []
    e = AuditEntry.objects.order_by("id")[2]
    AuditEntry.objects.filter(pk=e.pk).update(object_id="999")
    assert any("altered" in p for p in audit.verify())
    AuditEntry.objects.filter(pk=e.pk).update(object_id="2")
    assert audit.verify() == []
    AuditEntry.objects.filter(pk=e.pk).delete()
    assert audit.verify()
