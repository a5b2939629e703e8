"""A Department row for every department name already in use (users, items, summonses, cases'
handler departments), so that the names validated from now on exist as records. Sections by
default; outside units guessed from the name. The routing placeholder 物业 (the property company
of the case's compound) is not a department."""

from django.db import migrations

UNIT_WORDS = ("派出所", "公安", "城管", "执法", "市场监管", "住建", "供电", "供水", "燃气", "自来水", "消防", "交警", "环保")
PROPERTY_PLACEHOLDER = "物业"


def kind_of(name: str) -> str:
    if "物业" in name:
        return "property"
    if any(w in name for w in UNIT_WORDS) and "办公室" not in name:
        return "unit"
    return "section"


def forwards(apps, schema_editor):
    Department = apps.get_model("accounts", "Department")
    User = apps.get_model("accounts", "User")
    Item = apps.get_model("cases", "Item")
    Summons = apps.get_model("cases", "Summons")
    Case = apps.get_model("cases", "Case")
    names = set()
    for model, field in ((User, "department"), (Item, "department"), (Summons, "department"), (Case, "handler_department")):
        names.update(model.objects.exclude(**{field: ""}).values_list(field, flat=True).distinct())
    names = {n.strip() for n in names if n and n.strip() and n.strip() != PROPERTY_PLACEHOLDER}
    have = set(Department.objects.values_list("name", flat=True))
    Department.objects.bulk_create([Department(name=n[:100], kind=kind_of(n)) for n in sorted(names - have)])


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0004_staff_duties_departments"),
        ("cases", "0004_mask_free_text_and_intake_digest"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
