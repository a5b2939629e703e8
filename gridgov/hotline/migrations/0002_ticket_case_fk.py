# The placeholder integer case_id becomes a real foreign key to cases.Case (same column, case_id).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0001_initial"),
        ("hotline", "0001_initial"),
    ]

    operations = [
        # rename first so the values are kept, then turn the integer into the foreign key
        # (column back to case_id, with its constraint and index)
        migrations.RenameField(model_name="ticket", old_name="case_id", new_name="case"),
        migrations.AlterField(
            model_name="ticket",
            name="case",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                related_name="hotline_tickets", to="cases.case",
            ),
        ),
    ]
