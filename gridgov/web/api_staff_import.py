"""The bulk import of staff accounts as JSON (mounted at /api/accounts/users/import): what the page
/staff/import/ does (web/staff_import.py on registry.importers.run_import), all or nothing.

POST a multipart upload `file` (.xlsx or .csv, the page's template) and optionally `dry_run`
(check every row, write nothing). 200 {"created": n, "users": [{"username", "temporary_password"}]}
(the passwords shown this once; none in a dry run); 400 {"errors": [{"row", "column", "value",
"message"}]} with nothing written; 403 unless the access table's staff × create allows the caller.
It lives in web because the staff import's columns (StaffSpec) do: accounts may not import registry."""

from django.utils import translation
from django.utils.translation import gettext as _
from ninja import File, Form, Router
from ninja.files import UploadedFile
from ninja.responses import Status

from gridgov.accounts import services as staff
from gridgov.accounts.policy import api_require

from . import staff_import as importer

router = Router(tags=["accounts"])


def _errors(*issues):
    return Status(400, {"created": 0, "errors": list(issues)})


@router.post("", response={200: dict, 400: dict, 403: dict})
def import_staff(request, file: UploadedFile | None = File(None), dry_run: Form[bool] = False):
    api_require(request, "staff", "create")
    if file is None:
        with translation.override(None):
            message = _("请选择要导入的文件（.xlsx 或 .csv）")
        return _errors({"row": None, "column": "", "value": "", "message": message})
    try:
        result, issued = importer.run(file, file.name, request.user, dry_run=dry_run)
    except staff.StaffError as exc:  # a row became wrong between validation and writing: nothing written
        return _errors({"row": None, "column": "", "value": "", "message": exc.source_message()})
    if not result.ok:
        return _errors(*({"row": e.row, "column": e.column, "value": e.value, "message": e.reason}
                         for e in result.errors))
    users = [{"username": u.username, "temporary_password": password} for u, password in issued]
    return {"created": len(users), "dry_run": dry_run, "users": users}
