"""The settings administrators edit (core.settings_rows), as JSON (mounted at /api/settings/;
here in accounts because it asks the access table): read them with their values in force (settings × list), set some from a time (settings × update),
read one key's rows and history."""

from datetime import datetime

from django.core.exceptions import PermissionDenied
from ninja import Field, Router, Schema

from gridgov.accounts import policy
from gridgov.core import history, settings_rows
from gridgov.core.models import SettingValue

try:
    from ninja import Status
except ImportError:  # pragma: no cover
    def Status(status_code, value):  # noqa: N802
        return status_code, value

router = Router(tags=["settings"])


@router.get("/", response={200: list[dict], 403: dict})
def list_settings(request):
    """Every editable setting: label, type, bounds, the value in force and where it comes from
    (row, default, or deployment: a Django setting that rows cannot change), rows still to come."""
    if not policy.allows(request.user, "settings", "list"):
        return Status(403, {"detail": "not allowed"})
    return settings_rows.describe()


class SettingsIn(Schema):
    values: dict[str, str | int | float | bool] = Field(description="{key: value}; a group (the three hotline weights) checked together")
    valid_from: datetime | None = Field(None, description="in force from this time (default now); a later time waits")
    note: str = Field("", max_length=255)


@router.put("/", response={200: dict, 400: dict, 403: dict})
def put_settings(request, body: SettingsIn):
    """Set settings from `valid_from`: one row and one history row per changed key; all or nothing."""
    try:
        rows = settings_rows.set_values(request.user, body.values, body.valid_from, body.note)
    except PermissionDenied:
        return Status(403, {"detail": "only administrators change settings"})
    except ValueError as exc:
        return Status(400, {"detail": str(exc)})
    return Status(200, {"written": [{"key": r.key, "value": r.value, "valid_from": r.valid_from.isoformat()} for r in rows]})


@router.get("/{key}/history", response={200: dict, 403: dict, 404: dict})
def setting_history(request, key: str):
    """The rows of one key (newest start first) and who changed what."""
    if not policy.allows(request.user, "settings", "list"):
        return Status(403, {"detail": "not allowed"})
    if key not in settings_rows.REGISTRY:
        return Status(404, {"detail": "no such setting"})
    rows = SettingValue.objects.filter(key=key).select_related("changed_by")[:500]
    return Status(200, {
        "rows": [{"value": r.value, "valid_from": r.valid_from.isoformat(), "changed_at": r.changed_at.isoformat(),
                  "changed_by": r.changed_by.username if r.changed_by else None, "note": r.note} for r in rows],
        "history": [{"at": h.at.isoformat(), "actor": h.actor_name, "changes": h.changes, "note": h.note}
                    for h in history.for_object("settings", key)[:500]],
    })
