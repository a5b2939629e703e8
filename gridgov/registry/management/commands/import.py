"""gridgov import KIND FILE [--update] [--errors OUT.xlsx]

Validate every row of FILE (.xlsx, or .csv in UTF-8 / UTF-8 with BOM / GBK); when all are
valid, write them in one transaction; otherwise write nothing, print the error report and exit
with status 1 (and save the report to --errors, .xlsx or .csv)."""

import sys

from django.core.management.base import BaseCommand, CommandError

from gridgov.registry.importers import SPECS, run_import, write_error_report

STAGES = {"read": "读取", "validate": "校验", "write": "写入"}


class Command(BaseCommand):
    help = "Import base data from a spreadsheet (all-or-nothing)"

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(SPECS))
        parser.add_argument("file")
        parser.add_argument("--update", action="store_true", help="update records already registered instead of rejecting them")
        parser.add_argument("--errors", help="save the error report to this .xlsx or .csv")
        parser.add_argument("--max-errors", type=int, default=200, help="errors printed (all go to --errors)")

    def handle(self, kind, file, update, errors, max_errors, **opts):
        def progress(stage, done, total):
            self.stderr.write(f"{STAGES.get(stage, stage)} {done}/{total}" if total else f"{STAGES.get(stage, stage)} {done}")

        try:
            result = run_import(kind, file, update=update, progress=progress)
        except FileNotFoundError:
            raise CommandError(f"file not found: {file}") from None
        for col in result.ignored_columns:
            self.stderr.write(f"忽略未识别的列：{col}")
        if not result.ok:
            for e in result.errors[:max_errors]:
                self.stdout.write(str(e))
            if len(result.errors) > max_errors:
                self.stdout.write(f"……共 {len(result.errors)} 处错误")
            if errors:
                write_error_report(result.errors, errors)
                self.stdout.write(f"错误报告已保存到 {errors}")
            self.stdout.write(f"未导入：{result.rows} 行中有 {len(result.errors)} 处错误，未写入任何数据。")
            raise CommandError(f"{len(result.errors)} error(s); nothing imported", returncode=1)
        self.stdout.write(f"导入完成：{result.rows} 行，新增 {result.created}，更新 {result.updated}")
