"""Each clock of an item optional, with a unit: accept_minutes / arrive_minutes / resolve_hours
become accept_limit / arrive_limit / resolve_limit (null: no such clock) with accept_unit /
arrive_unit / resolve_unit (minutes, working_hours, working_days; the old meaning as default);
scenarios can be deactivated."""

from django.db import migrations, models


UNITS = [("minutes", "分钟"), ("working_hours", "工作小时"), ("working_days", "工作日")]


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0005_ratecounter_to_core"),
    ]

    operations = [
        migrations.RenameField("item", "accept_minutes", "accept_limit"),
        migrations.RenameField("item", "arrive_minutes", "arrive_limit"),
        migrations.RenameField("item", "resolve_hours", "resolve_limit"),
        migrations.AlterField(
            model_name="item", name="accept_limit",
            field=models.DecimalField(blank=True, decimal_places=2, help_text="time to accept", max_digits=9, null=True),
        ),
        migrations.AlterField(
            model_name="item", name="arrive_limit",
            field=models.DecimalField(blank=True, decimal_places=2, help_text="time from the assignment to being on site",
                                      max_digits=9, null=True),
        ),
        migrations.AlterField(
            model_name="item", name="resolve_limit",
            field=models.DecimalField(blank=True, decimal_places=2, help_text="time to resolve", max_digits=9, null=True),
        ),
        migrations.AddField(
            model_name="item", name="accept_unit",
            field=models.CharField(choices=UNITS, default="minutes", max_length=16),
        ),
        migrations.AddField(
            model_name="item", name="arrive_unit",
            field=models.CharField(choices=UNITS, default="minutes", max_length=16),
        ),
        migrations.AddField(
            model_name="item", name="resolve_unit",
            field=models.CharField(choices=UNITS, default="working_hours", max_length=16),
        ),
        migrations.AddField(
            model_name="scenario", name="active",
            field=models.BooleanField(default=True),
        ),
    ]
