# RateCounter now belongs to core (core.0003_ratecounter took over and renamed its table):
# it leaves the cases state only; nothing happens in the database here.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0004_mask_free_text_and_intake_digest"),
        ("core", "0003_ratecounter"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="RateCounter")],
            database_operations=[],
        ),
    ]
