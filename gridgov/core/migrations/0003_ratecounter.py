# The rate-limit counters move from the cases app to core (with gridgov.core.ratelimit): the
# model enters core's state over the existing table, which is then renamed. No row is lost.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_change_history_settings"),
        ("cases", "0003_ratecounter"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RateCounter",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("key", models.CharField(max_length=200, unique=True)),
                        ("count", models.PositiveIntegerField(default=0)),
                        ("expires_at", models.DateTimeField(db_index=True)),
                    ],
                    options={"db_table": "cases_ratecounter"},
                ),
            ],
            database_operations=[],
        ),
        # cases_ratecounter → core_ratecounter
        migrations.AlterModelTable(name="ratecounter", table=None),
    ]
