"""Exports of base data to .xlsx, in the import templates' columns (so an export can be edited
and imported back with --update), run as jobs with progress.

Rows are `.visible_to(user)`. ID numbers and phones are masked unless the user may see
personal data of the row (`may_see_personal_data`: role and scope); then they are decrypted.
Every export appends ONE audit entry (action "export", detail: kind, row count and whether
personal data was revealed). Text that a spreadsheet would run as a formula is escaped by the
one writer (gridgov.core.tabular).

Every export is an `ExportJob` (registry.models), whatever asks for it: the staff page and the
API start one (`start_export`) and the worker runs it (`run_job`, huey task
registry.tasks.export_task); `gridgov export` starts one and runs it in its own process
(`export_xlsx`). One code path:

* asked: `start_export` checks the export right and the grid filter, records who asked, the
  kind, the filters, the scope the user has now and whether their role may read personal data
  of the kind; the same user asking again for the same unfinished export gets that job back;
* run: `run_job` claims the job with a compare-and-set (queued → running), so a retried or
  duplicated task does nothing; it checks the rights again: an export right lost in between
  fails the job ("revoked"), a personal-data right lost masks (only rights held at both times
  reveal), rows are those visible now AND inside the scope recorded at the request; it streams
  the rows into a write-only workbook, writing progress every PROGRESS_BATCH rows; the file is
  renamed into place and the job marked done (compare-and-set running → done) in the same
  transaction as the audit entry, so one export is audited once;
* kept: the file lives under GRIDGOV_DATA_DIR/exports (never a static or media path) and is
  served only to the user who asked or an administrator; `purge` deletes it EXPORT_TTL after
  the job finished (every 15 minutes in the worker, and at every new export), fails jobs whose
  worker stopped (no progress for STALE) or never ran, and deletes stray files."""

import json
import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.accounts import policy
from gridgov.accounts.scope import may_see_personal_data, scope_of
from gridgov.core import audit, conf, crypto
from gridgov.core.tabular import Workbook
from gridgov.geo.models import GridNode

from .importers import get_spec
from .models import ExportJob

log = logging.getLogger("gridgov.registry.exports")

#: rows between two progress writes (one UPDATE of the job per batch, never one per row)
PROGRESS_BATCH = 1000
#: a running job without progress for this long was interrupted (its worker stopped)
STALE = timedelta(minutes=15)

#: error codes stored on a failed job → the message shown
ERRORS = {
    "revoked": _("您已无权导出这类数据，导出未执行。"),
    "grid": _("所选网格已不在您的负责范围内，导出未执行。"),
    "interrupted": _("导出中断（后台任务已停止），请重新导出。"),
    "not_run": _("后台任务长时间未运行，导出未执行，请联系管理员。"),
    "internal": _("导出失败（内部错误），请重新导出或联系管理员。"),
}


class ExportRefused(Exception):
    """The job may not run (rights lost in between): `code` is a key of ERRORS."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


conf.register({
    # how long a finished export's file is kept (hours)
    "EXPORT_TTL_HOURS": ("GRIDGOV_EXPORT_TTL_HOURS", 24),
})


def ttl() -> timedelta:
    """How long a finished export's file is kept: GRIDGOV_EXPORT_TTL_HOURS (default 24)."""
    return timedelta(hours=conf.get_float("EXPORT_TTL_HOURS"))


def exports_dir() -> Path:
    d = Path(settings.DATA_DIR) / "exports"
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    return d


def storage():
    """Where finished exports are kept: the `exports` storage (settings.STORAGES): files under
    $GRIDGOV_DATA_DIR/exports on one machine, the object store when several share the work."""
    from django.core.files.storage import FileSystemStorage, storages

    if "exports" in settings.STORAGES:
        return storages["exports"]
    return FileSystemStorage(location=exports_dir(), file_permissions_mode=0o600, directory_permissions_mode=0o700)


def file_path(job: ExportJob) -> Path | None:
    """The local path of a finished job's file (None without one, or on an object store)."""
    if not job.file:
        return None
    try:
        return Path(storage().path(job.file))
    except NotImplementedError:
        return None


def expires_at(job: ExportJob):
    return job.finished_at + ttl() if job.state == ExportJob.DONE and job.finished_at else None


def error_message(job: ExportJob) -> str:
    return str(ERRORS.get(job.error, ERRORS["internal"])) if job.state == ExportJob.FAILED else ""


# ---- rows ---------------------------------------------------------------------------------


def _cell(value):
    if value is None:
        return ""
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()[:10]
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if hasattr(value, "as_tuple"):  # Decimal
        return float(value)
    return str(value)  # made safe (formulas escaped) by the writer, gridgov.core.tabular


def _grid_node(user, code: str) -> GridNode | None:
    return GridNode.objects.visible_to(user).filter(code=code).only("path").first()


def _queryset(spec, user, grid_path: str | None, scope_paths):
    # current records only: one ended (moved out, died, demolished, ...) is kept in the registry
    # and its history, not exported
    qs = spec.queryset().visible_to(user).filter(ended_on__isnull=True)
    lookup = f"{qs.grid_path_lookup}__startswith"
    if scope_paths is not None:  # no more than the user could see when they asked
        from django.db.models import Q

        q = Q(pk__in=[])
        for p in scope_paths:
            q |= Q(**{lookup: p})
        qs = qs.filter(q)
    if grid_path:
        qs = qs.filter(**{lookup: grid_path})
    return qs.order_by("pk")


def export_rows(kind: str, user, *, grid_path: str | None = None, scope_paths=None, personal: bool = True):
    """(headers, queryset, iterator of rows, stats dict) for `user`; decrypts only where allowed
    (and never when `personal` is False). Memory-bounded: rows are fetched in chunks."""
    spec = get_spec(kind)
    qs = _queryset(spec, user, grid_path, scope_paths)
    headers = [c.header for c in spec.columns]
    stats = {"count": 0, "revealed": 0}

    def gen():
        for obj in qs.iterator(chunk_size=2000):
            allowed = None
            out = []
            for c in spec.columns:
                if c.personal:
                    if allowed is None:
                        allowed = personal and may_see_personal_data(user, obj.grid.path if obj.grid_id else None, kind=spec.kind)
                    if c.out is not None:
                        value = c.out(obj)
                    elif allowed:
                        value = crypto.decrypt(getattr(obj, f"{c.field}_enc"))
                    else:
                        value = getattr(obj, f"{c.field}_masked")
                elif c.out is not None:
                    value = c.out(obj)
                else:
                    value = getattr(obj, c.field, "")
                out.append(_cell(value))
            stats["count"] += 1
            if allowed:
                stats["revealed"] += 1
            yield out

    return headers, qs, gen(), stats


# ---- jobs ---------------------------------------------------------------------------------


def start_export(user, kind: str, grid: str = "", *, enqueue: bool = True) -> ExportJob:
    """A job exporting `kind` (under grid `grid`, a code, if given) for `user`, queued for the
    worker after commit (unless `enqueue` is False: the caller runs it). ValueError for an unknown
    kind, PermissionDenied without the export right, GridNode.DoesNotExist for a grid the user
    does not see. The same unfinished export asked again returns its job."""
    spec = get_spec(kind)
    policy.require(user, spec.kind, "export")
    filters = {}
    if grid:
        if _grid_node(user, grid) is None:
            raise GridNode.DoesNotExist(grid)
        filters["grid"] = grid
    purge()
    with transaction.atomic():
        if enqueue:
            same = ExportJob.objects.filter(requested_by=user, kind=kind, filters=filters,
                                            state__in=ExportJob.UNFINISHED).first()
            if same is not None:
                return same
        reach = policy.reach(user, spec.kind, "read")
        scope = scope_of(user)
        job = ExportJob.objects.create(
            requested_by=user,
            kind=kind,
            filters=filters,
            scope_paths=None if reach == policy.ALL or scope.everything else list(scope.paths),
            personal=policy.allows(user, spec.kind, "personal"),
        )
        if enqueue:
            from .tasks import export_task

            pk = str(job.pk)
            transaction.on_commit(lambda: export_task(pk))
    return job


def run_job(job_id, *, batch: int | None = None, on_progress=None) -> ExportJob | None:
    """Run a queued job (the worker's task; `gridgov export` in its own process). Returns the
    job as it ended, or None when it was not queued (already claimed: a retry does nothing)."""
    now = timezone.now()
    if not ExportJob.objects.filter(pk=job_id, state=ExportJob.QUEUED).update(
            state=ExportJob.RUNNING, started_at=now, updated_at=now):
        return None
    job = ExportJob.objects.select_related("requested_by").get(pk=job_id)
    part = exports_dir() / f"{job.pk}.part"  # written here, then kept by the exports storage
    name = None
    try:
        stats = _write(job, part, batch or PROGRESS_BATCH, on_progress)
        with open(part, "rb") as fh:
            name = storage().save(f"{job.pk}.xlsx", File(fh))
        part.unlink(missing_ok=True)
        with transaction.atomic():
            done = ExportJob.objects.filter(pk=job.pk, state=ExportJob.RUNNING).update(
                state=ExportJob.DONE, file=name, rows_done=stats["count"], rows_total=stats["count"],
                revealed_rows=stats["revealed"], finished_at=timezone.now())
            if done:
                _audit(job, stats)
        if not done:  # no longer ours (failed by `purge` as stale): no file, no audit
            storage().delete(name)
    except ExportRefused as exc:
        _fail(job, exc.code, part, name)
    except Exception:
        log.exception("export job %s failed", job.pk)
        _fail(job, "internal", part, name)
    job.refresh_from_db()
    return job


def _write(job: ExportJob, out: Path, batch: int, on_progress) -> dict:
    user = job.requested_by
    spec = get_spec(job.kind)
    if not policy.allows(user, spec.kind, "export"):
        raise ExportRefused("revoked")
    grid_path = None
    if job.filters.get("grid"):
        node = _grid_node(user, job.filters["grid"])
        if node is None:
            raise ExportRefused("grid")
        grid_path = node.path
    # personal data only where the role allowed it when asked AND allows it now (per row)
    headers, qs, rows, stats = export_rows(job.kind, user, grid_path=grid_path, scope_paths=job.scope_paths,
                                           personal=job.personal)
    total = qs.count()
    ExportJob.objects.filter(pk=job.pk).update(rows_total=total, updated_at=timezone.now())
    if on_progress:
        on_progress(0, total)
    wb = Workbook(write_only=True)
    ws = wb.sheet("数据")
    ws.append(headers, bold=True)
    for n, row in enumerate(rows, start=1):
        ws.append(row)
        if n % batch == 0:
            if not ExportJob.objects.filter(pk=job.pk, state=ExportJob.RUNNING).update(
                    rows_done=n, rows_total=max(total, n), updated_at=timezone.now()):
                raise ExportRefused("interrupted")  # failed meanwhile (stale): stop writing
            if on_progress:
                on_progress(n, total)
    wb.save(out)
    if on_progress:
        on_progress(stats["count"], stats["count"])
    return stats


def _audit(job: ExportJob, stats: dict) -> None:
    spec = get_spec(job.kind)
    detail = {"kind": job.kind, "count": stats["count"], "personal_data": "revealed" if stats["revealed"] else "masked",
              "revealed_rows": stats["revealed"]}
    if job.filters:
        detail["filters"] = job.filters
    audit.record(
        job.requested_by,
        "export",
        object_type=spec.model._meta.label_lower,
        object_id=str(job.pk),
        fields=",".join(c.field for c in spec.columns if c.personal) if stats["revealed"] else "",
        detail=json.dumps(detail, ensure_ascii=False),
    )


def _fail(job: ExportJob, code: str, part: Path, name: str | None = None) -> None:
    part.unlink(missing_ok=True)
    if name:
        storage().delete(name)
    ExportJob.objects.filter(pk=job.pk, state=ExportJob.RUNNING).update(
        state=ExportJob.FAILED, error=code, finished_at=timezone.now())


def retire(job: ExportJob) -> None:
    """Delete a finished job's file now (it is expired from then on)."""
    name = job.file
    if ExportJob.objects.filter(pk=job.pk, state=ExportJob.DONE).update(state=ExportJob.EXPIRED, file=""):
        if name:
            storage().delete(name)
    job.refresh_from_db()


def purge(now=None) -> dict:
    """Expire files older than ttl(), fail jobs that stopped or never ran, delete stray files.
    Counts of what it did."""
    now = now or timezone.now()
    out = {"expired": 0, "interrupted": 0, "not_run": 0, "stray": 0}
    for job in ExportJob.objects.filter(state=ExportJob.DONE, finished_at__lt=now - ttl()):
        retire(job)
        out["expired"] += 1
    out["interrupted"] = ExportJob.objects.filter(state=ExportJob.RUNNING, updated_at__lt=now - STALE).update(
        state=ExportJob.FAILED, error="interrupted", finished_at=now)
    out["not_run"] = ExportJob.objects.filter(state=ExportJob.QUEUED, created_at__lt=now - ttl()).update(
        state=ExportJob.FAILED, error="not_run", finished_at=now)
    live = set(ExportJob.objects.filter(state__in=(ExportJob.RUNNING, ExportJob.DONE)).values_list("pk", flat=True))
    live = {str(pk) for pk in live}
    cutoff = (now - STALE).timestamp()
    seen = set()
    for p in exports_dir().iterdir():  # this machine's unfinished parts (and the files, on one machine)
        seen.add(p.name)
        if p.stem.split("_")[0] not in live and p.stat().st_mtime < cutoff:
            p.unlink(missing_ok=True)
            out["stray"] += 1
    st = storage()
    for name in st.listdir("")[1]:
        if name in seen and file_path_of(name) is not None:
            continue
        if name.split(".")[0].split("_")[0] not in live and st.get_modified_time(name).timestamp() < cutoff:
            st.delete(name)
            out["stray"] += 1
    return out


def file_path_of(name: str) -> Path | None:
    try:
        return Path(storage().path(name))
    except NotImplementedError:
        return None


def export_xlsx(kind: str, user, out, grid: str = "", on_progress=None) -> dict:
    """Run an export in this process (`gridgov export`): the same job as the pages', started and
    run here; the file is copied to `out` (a path or a binary file) and the job's own copy
    deleted. Returns {"count", "revealed"}; PermissionDenied when the job was refused."""
    import shutil

    job = start_export(user, kind, grid, enqueue=False)
    job = run_job(job.pk, on_progress=on_progress)
    if job.state != ExportJob.DONE:
        raise PermissionDenied(error_message(job)) if job.error in ("revoked", "grid") else RuntimeError(error_message(job))
    with storage().open(job.file, "rb") as fh:
        if hasattr(out, "write"):
            shutil.copyfileobj(fh, out)
        else:
            with open(out, "wb") as dst:
                shutil.copyfileobj(fh, dst)
    retire(job)
    return {"count": job.rows_done, "revealed": job.revealed_rows}


def open_for(user, job: ExportJob):
    """The finished job's file opened for `user` to download, or None (not done, expired,
    gone). `job` must come from `ExportJob.objects.visible_to(user)`. PermissionDenied when the
    user has lost the rights the file needs (the export right; the personal-data right when it
    holds plaintext). A download by anyone but the requester (an administrator) is audited."""
    spec = get_spec(job.kind)
    if not policy.allows(user, spec.kind, "export") or (job.revealed_rows and not policy.allows(user, spec.kind, "personal")):
        raise PermissionDenied(f"not allowed: export {job.kind}")
    if job.state != ExportJob.DONE or not job.file:
        return None
    try:
        fh = storage().open(job.file, "rb")
    except (FileNotFoundError, OSError):
        return None
    if user.pk != job.requested_by_id:
        audit.record(user, "export_download", object_type=spec.model._meta.label_lower, object_id=str(job.pk),
                     fields=",".join(c.field for c in spec.columns if c.personal) if job.revealed_rows else "",
                     detail=json.dumps({"kind": job.kind, "count": job.rows_done, "requested_by": job.requested_by.username},
                                       ensure_ascii=False))
    return fh
