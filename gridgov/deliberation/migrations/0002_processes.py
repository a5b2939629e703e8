"""Seed the two processes every street starts with (gridgov.deliberation.processes)."""

from django.db import migrations


def seed(apps, schema_editor):
    from gridgov.deliberation.processes import seed as seed_processes

    seed_processes(apps.get_model("deliberation", "Process"), apps.get_model("deliberation", "Phase"))


class Migration(migrations.Migration):
    dependencies = [("deliberation", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
