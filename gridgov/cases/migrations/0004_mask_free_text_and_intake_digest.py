"""Issue 16: free text people type is stored with ID and mobile numbers masked, the text as
typed encrypted beside it (Case.text_enc, address_enc, CaseEvent.note_enc); Case.intake_digest
tells a retry from another report under the same idempotency key. Existing rows are masked
here with the same function the services use (gridgov.core.freetext)."""

from django.db import migrations, models

BATCH = 500


def _mask_rows(model, fields, keep_original):
    """Mask `fields` of every row; with `keep_original` the first field's text as typed goes to
    its `*_enc` column (and every field named in `fields` has one)."""
    from gridgov.core.freetext import mask_personal, protect

    changed = []
    for obj in model.objects.only("pk", *fields).iterator(chunk_size=2000):
        dirty = []
        for f in fields:
            value = getattr(obj, f) or ""
            if keep_original:
                masked, token = protect(value)
                if token:
                    setattr(obj, f, masked)
                    setattr(obj, f"{f}_enc", token)
                    dirty += [f, f"{f}_enc"]
            else:
                masked = mask_personal(value)
                if masked != value:
                    setattr(obj, f, masked)
                    dirty.append(f)
        if dirty:
            changed.append(obj)
        if len(changed) >= BATCH:
            model.objects.bulk_update(changed, [*fields, *([f"{f}_enc" for f in fields] if keep_original else [])])
            changed = []
    if changed:
        model.objects.bulk_update(changed, [*fields, *([f"{f}_enc" for f in fields] if keep_original else [])])


def mask_existing(apps, schema_editor):
    from gridgov.core.freetext import mask_personal

    _mask_rows(apps.get_model("cases", "Case"), ["text", "address"], keep_original=True)
    _mask_rows(apps.get_model("cases", "CaseEvent"), ["note"], keep_original=True)
    _mask_rows(apps.get_model("cases", "Rating"), ["comment"], keep_original=False)
    _mask_rows(apps.get_model("cases", "Summons"), ["note", "report"], keep_original=False)
    _mask_rows(apps.get_model("cases", "Notification"), ["title", "body"], keep_original=False)
    CaseEvent = apps.get_model("cases", "CaseEvent")
    rated = []
    for e in CaseEvent.objects.filter(data__has_key="rating").only("pk", "data").iterator(chunk_size=2000):
        comment = (e.data.get("rating") or {}).get("comment") or ""
        if mask_personal(comment) != comment:
            e.data["rating"]["comment"] = mask_personal(comment)
            rated.append(e)
    CaseEvent.objects.bulk_update(rated, ["data"], batch_size=BATCH)


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0003_ratecounter'),
    ]

    operations = [
        migrations.AddField(
            model_name='case',
            name='address_enc',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='case',
            name='intake_digest',
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name='case',
            name='text_enc',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='caseevent',
            name='note_enc',
            field=models.TextField(blank=True, default="", db_default=""),
        ),
        migrations.AlterField(
            model_name='case',
            name='text',
            field=models.TextField(help_text='as typed, with ID and mobile numbers masked (core.freetext)'),
        ),
        migrations.RunPython(mask_existing, migrations.RunPython.noop),
    ]
