"""A resident's rights under PIPL: export everything held about them, erase or anonymise it
(`gridgov pipl export|erase`). Moved from core.privacy: it gathers the records of registry,
accounts, cases and Open311, so it sits above them."""

import json

from django.db import transaction

from gridgov.core import audit, crypto


def _plain(obj, fields=("id_number", "phone")) -> dict:
    return {f: crypto.decrypt(getattr(obj, f"{f}_enc")) for f in fields if hasattr(obj, f"{f}_enc")}


def resident_export(resident_id: int, by=None) -> dict:
    """Everything held about a resident, decrypted: the record, their household links,
    volunteer records and the cases they reported (through a user account linked as a
    volunteer). Audited (action "pipl_export")."""
    from django.forms.models import model_to_dict

    from gridgov.registry.models import Resident, Volunteer

    r = Resident.objects.select_related("grid", "house__address", "party_org").get(pk=resident_id)
    rec = {k: v for k, v in model_to_dict(r).items() if not k.endswith(("_enc", "_hash"))}
    rec.update(_plain(r))
    rec["birth_date"] = r.birth_date.isoformat() if r.birth_date else None
    rec["grid"] = r.grid.code if r.grid_id else None
    rec["address"] = r.house.address.text if r.house_id else ""
    rec["party_org"] = r.party_org.name if r.party_org_id else None
    rec["house"] = r.house_id
    out = {"resident": rec, "volunteer_records": [], "cases": []}
    for v in Volunteer.objects.filter(resident=r).select_related("team", "user"):
        out["volunteer_records"].append({"id": v.id, "name": v.name, "kind": v.kind, "team": v.team.name if v.team_id else None,
                                         "duties": v.duties, **_plain(v)})
        if v.user_id:
            out["cases"] += _cases_of(v.user)
    for u in _accounts_of(r):
        out.setdefault("accounts", []).append({"username": u.username, "role": u.role, **_plain(u, ("phone",))})
        out["cases"] += _cases_of(u)
    out["open311_contacts"] = [
        {"case": q.case.number, **{f: crypto.decrypt(getattr(q, f"{f}_enc")) for f in OPEN311_FIELDS}}
        for q in _open311_of(r)
    ]
    out["audit"] = [
        {"at": e.at.isoformat(), "by": e.username, "action": e.action, "fields": e.fields}
        for e in audit.AuditEntry.objects.filter(object_type="registry.resident", object_id=str(r.pk))
    ]
    with transaction.atomic():
        audit.record(by, "pipl_export", r, fields="id_number,phone")
    return out


OPEN311_FIELDS = ("email", "phone", "name", "device_id", "account_id")


def _accounts_of(r):
    """User accounts of the resident: matched by the blind index of their phone."""
    from gridgov.accounts.models import User

    return list(User.objects.filter(phone_hash=r.phone_hash)) if r.phone_hash else []


def _open311_of(r):
    """Open311 requests whose submitter gave the resident's phone."""
    from gridgov.open311.models import Open311Request

    return list(Open311Request.objects.filter(phone_hash=r.phone_hash).select_related("case")) if r.phone_hash else []


def _cases_of(user) -> list[dict]:
    from gridgov.cases.models import Case

    from gridgov.core.freetext import original

    # the text as the person typed it (stored masked, the original encrypted)
    return [{"number": c.number, "text": original(c.text, c.text_enc), "created_at": c.created_at.isoformat(), "state": c.state}
            for c in Case.objects.filter(reporter=user)]


def _forget_originals(user_ids: list[int]) -> None:
    """Free text is stored masked with the original encrypted beside it (core.freetext): the
    originals of what these accounts typed (the cases they reported, their history notes) go;
    the masked text stays with the case."""
    from gridgov.cases.models import Case, CaseEvent

    if not user_ids:
        return
    Case.objects.filter(reporter_id__in=user_ids).update(text_enc="", address_enc="")
    CaseEvent.objects.filter(actor_id__in=user_ids).update(note_enc="")


@transaction.atomic
def resident_erase(resident_id: int, by=None, anonymise: bool = False) -> dict:
    """Erase a resident on request. Without `anonymise` the record is deleted; with it, the
    record stays for statistics (grid, house, gender, birth year, residence type, tags) and every
    identifying field is cleared or replaced. Linked volunteer records lose their phone and
    link; cases the person reported (through a linked account) keep the case (its text masked)
    but lose the reporter and the original of what the person typed. Audited (action "pipl_erase"; the audit entry names the record id only)."""
    from gridgov.cases.models import Case
    from gridgov.registry.models import Resident, Volunteer

    r = Resident.objects.select_for_update().get(pk=resident_id)
    cases = 0
    volunteers = list(Volunteer.objects.filter(resident=r))
    _forget_originals([v.user_id for v in volunteers if v.user_id] + [u.pk for u in _accounts_of(r)])
    for v in volunteers:
        if v.user_id:
            cases += Case.objects.filter(reporter_id=v.user_id).update(reporter=None)
            cases += Case.objects.filter(entered_by_id=v.user_id).update(entered_by=None)
        v.set_personal("phone", "")
        v.name = "已注销"
        v.resident = None
        v.save()
    for u in _accounts_of(r):
        cases += Case.objects.filter(reporter=u).update(reporter=None)
    for q in _open311_of(r):
        for f in OPEN311_FIELDS:
            setattr(q, f"{f}_enc", "")
            if hasattr(q, f"{f}_hash"):
                setattr(q, f"{f}_hash", "")
        q.phone_masked = ""
        q.save()
        cases += 1
    if anonymise:
        r.name = "匿名"
        r.set_personal("id_number", "")
        r.set_personal("phone", "")
        r.household_no = ""
        r.registered_address = ""
        r.relation = ""
        if r.birth_date:
            r.birth_date = r.birth_date.replace(month=1, day=1)
        r.save()
        result = {"resident": r.pk, "mode": "anonymised", "cases_unlinked": cases}
    else:
        pk = r.pk
        r.delete()
        result = {"resident": pk, "mode": "deleted", "cases_unlinked": cases}
    audit.record(by, "pipl_erase", object_type="registry.resident", object_id=str(resident_id),
                 detail=json.dumps(result, ensure_ascii=False))
    return result
