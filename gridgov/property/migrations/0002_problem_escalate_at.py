"""Problem.escalate_at: when a level-1 problem rises to level 2, so the ledger's clock
(services.escalate_late) filters on it in SQL instead of working out a deadline per late problem
on every run. Existing level-1 problems get it here the way the clock sets it: PROPERTY_ESCALATE_DAYS
working days after their deadline (the work calendar with its overrides, as cases.workcal)."""

from django.db import migrations, models

BATCH = 500


def fill(apps, schema_editor):
    from gridgov.cases.workcal import WorkCalendar
    from gridgov.property import conf

    Problem = apps.get_model("property", "Problem")
    CalendarOverride = apps.get_model("cases", "CalendarOverride")
    rows = Problem.objects.filter(escalation=1, escalate_at__isnull=True).only("pk", "due_at")
    if not rows.exists():
        return
    cal = WorkCalendar(overrides=dict(CalendarOverride.objects.values_list("date", "is_workday")))
    days = conf.get_int("PROPERTY_ESCALATE_DAYS")
    changed = []
    for p in rows.iterator(chunk_size=2000):
        p.escalate_at = cal.add_working_days(p.due_at, days)
        changed.append(p)
        if len(changed) >= BATCH:
            Problem.objects.bulk_update(changed, ["escalate_at"])
            changed = []
    if changed:
        Problem.objects.bulk_update(changed, ["escalate_at"])


class Migration(migrations.Migration):

    dependencies = [
        ('property', '0001_initial'),
        ('cases', '0006_case_compound'),
        ('core', '0003_ratecounter'),
    ]

    operations = [
        migrations.AddField(
            model_name='problem',
            name='escalate_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
