"""Bulk creation of staff accounts from a spreadsheet, on the base-data imports' rules
(registry.importers.run_import: every row validated first, nothing written if any row is wrong,
one error per row and column, the same reading of .xlsx and .csv and the same template).

Each row is one new account: the accounts services (accounts.services.create_staff, in the
import's one transaction) make it with a temporary password, shown once on the result page, and
the duty the row names. The row rules are the services' own: roles the importer may give, an
active department, a grid inside the importer's community for a community secretary."""

from gridgov.accounts import services as staff
from gridgov.accounts.models import Duty, Role, User
from gridgov.registry.importers import (
    CellError,
    Col,
    Context,
    RowError,
    Spec,
    p_date,
    p_grid,
    p_phone,
    text,
)


def _label_or_code(choices, what):
    """A parser taking a choice's Chinese label or its code."""

    def parse(value, ctx):
        from django.utils import translation

        s = str(value).strip()
        with translation.override(None):
            by_label = {str(label): code for code, label in choices}
            allowed = "、".join(str(label) for _, label in choices)
        if s in by_label:
            return by_label[s]
        if s.lower() in {c for c, _ in choices}:
            return s.lower()
        raise CellError(f"未知的{what}：应为以下之一：{allowed}")

    parse.choices = [(c, label) for c, label in choices]
    return parse


def _role_choices():
    return [(r, Role(r).label) for r in staff.MANAGED_ROLES]


class StaffSpec(Spec):
    """One import by one user: keeps the accounts made and their temporary passwords."""

    kind = "staff"
    label = "工作人员"
    model = User

    def __init__(self):
        self.columns = [
            Col("username", "用户名", ("username", "账号"), True, text(150), "登录用的用户名：字母、数字和 @ . + - _", "wangwu01"),
            Col("display_name", "姓名", ("display_name", "name"), True, text(100), "", "王五"),
            Col("role", "角色", ("role",), True, _label_or_code(_role_choices(), "角色"),
                "社区书记只能授予：网格员、网格长、社区工作者、楼门长、志愿者", "网格员"),
            Col("department", "科室/部门", ("department", "部门", "科室"), False, text(100), "已登记的部门名称", ""),
            Col("phone", "手机", ("phone", "手机号", "电话"), False, p_phone, "", "13800138000"),
            Col("grid", "网格编码", ("grid", "网格", "grid_code"), False, p_grid,
                "网格编码或名称：在该网格担任职责；社区书记不填时为其所在社区", "110106001001001"),
            Col("duty", "职责", ("duty",), False, _label_or_code(list(Duty.choices), "职责"), "不填时按角色确定", "网格员"),
            Col("since", "起始日期", ("since", "开始日期"), False, p_date, "职责起始日期；不填为今天", "2026-01-01"),
        ]
        self.issued: list[tuple[User, str]] = []

    def clean(self, row: dict, ctx: Context) -> None:
        actor = ctx.user
        checks = [
            ("username", lambda: staff.clean_username(row["username"])),
            ("role", lambda: staff.clean_role(actor, row["role"])),
            ("department", lambda: staff.clean_department(row.get("department") or "")),
        ]
        for field, check in checks:
            try:
                check()
            except staff.StaffError as exc:
                raise RowError(field, exc.source_message()) from None
        try:
            staff.clean_duty_place(actor, row.get("grid"), row.get("duty"), row["role"])
        except staff.StaffError as exc:
            raise RowError("grid", exc.source_message()) from None
        from gridgov.accounts import policy

        own = policy.reach(actor, "staff", "create") == policy.OWN
        if (row.get("duty") or row.get("since")) and not row.get("grid") and not own:
            raise RowError("grid", "填写了职责或起始日期时须填写网格")

    def key(self, row: dict):
        return "username", row["username"].lower()

    def build(self, row: dict, ctx: Context):
        return row

    def write(self, creates, updates, ctx, progress=None):
        for n, (row, _row) in enumerate(creates, start=1):
            user, password = staff.create_staff(
                ctx.user, username=row["username"], display_name=row["display_name"], role=row["role"],
                department=row.get("department") or "", phone=row.get("phone") or "", grid=row.get("grid"),
                duty=row.get("duty"), since=row.get("since"))
            self.issued.append((user, password))
            if progress:
                progress("write", n, len(creates))


def run(source, filename, user, dry_run=False):
    """(ImportResult, [(user, temporary password)]): nothing written unless every row is right.

    `dry_run`: every row checked and written as for real, then all rolled back (no account, no
    history row, no notification): the result says what an import would do; the accounts listed
    do not exist and their passwords are none."""
    from django.db import transaction

    from gridgov.registry.importers import run_import

    spec = StaffSpec()
    if not dry_run:
        return run_import(spec, source, filename=filename, user=user), spec.issued
    with transaction.atomic():
        result = run_import(spec, source, filename=filename, user=user)
        transaction.set_rollback(True)
    return result, [(u, None) for u, _password in spec.issued]


def write_template(out) -> None:
    from gridgov.registry.importers import write_template as write

    write(StaffSpec(), out)
