import io

import pytest
from django.core.management import CommandError, call_command

from gridgov.cases.models import Item, RoutingPath, RoutingRule, RoutingRuleHistory, Scenario
from gridgov.cases.taxonomy import TaxonomyImportError, import_taxonomy, seed_taxonomy

HEADER = "scenario,item,code,department,accept_minutes,arrive_minutes,resolve_hours,volunteer_grabbable,keywords\n"


def test_seed_has_five_scenarios_twenty_items_eleven_paths(taxonomy):
    assert Scenario.objects.count() == 5
    assert Item.objects.count() == 20
    assert RoutingPath.objects.count() == 11
    garbage = Item.objects.get(name="暴露垃圾")
    assert (garbage.national_kind, garbage.national_code) == ("event", "01-10")
    assert Item.objects.get(name="占道经营").national_code == "04-06"
    assert Item.objects.get(name="路灯损坏").limit("accept") == (1, "minutes")
    # every rule edit is kept
    assert RoutingRuleHistory.objects.filter(action="create").count() == RoutingRule.objects.count() > 0


def test_seed_is_idempotent(taxonomy):
    again = seed_taxonomy()
    assert again["created"] == 0 and again["updated"] == 20 and again["rules"] == 0
    assert Item.objects.count() == 20


def test_import_updates_adds_and_replace_deactivates(taxonomy):
    csv = HEADER + "民生服务,供水故障,MS01,民生保障办公室,2,45,12,否,停水\n民生服务,电梯故障,MS09,民生保障办公室,1,30,8,no,电梯|困人\n"
    r = import_taxonomy(io.StringIO(csv), replace=True)
    assert r == {"created": 1, "updated": 1, "deactivated": 19}
    ms01 = Item.objects.get(code="MS01")
    assert (ms01.limit("accept"), ms01.limit("arrive"), ms01.limit("resolve")) == ((2, "minutes"), (45, "minutes"), (12, "working_hours"))
    assert Item.objects.filter(active=True).count() == 2


def test_import_reports_every_bad_cell_and_changes_nothing(taxonomy, tmp_path):
    csv = HEADER + ",井盖,X1,城管,1,15,4,否,\n公共安全,井盖2,X2,城管,soon,15,-1,maybe,\n公共安全,井盖3,X1,城管,1,15,4,是,\n"
    with pytest.raises(TaxonomyImportError) as exc:
        import_taxonomy(io.StringIO(csv))
    errors = exc.value.errors
    assert "row 2, column scenario: empty" in errors
    assert any(e.startswith("row 3, column accept_minutes") for e in errors)
    assert any(e.startswith("row 3, column resolve_hours") for e in errors)
    assert any(e.startswith("row 3, column volunteer_grabbable") for e in errors)
    assert any(e.startswith("row 4, column code: X1 already on row 2") for e in errors)
    assert not Item.objects.filter(code__in=["X1", "X2"]).exists()
    path = tmp_path / "bad.csv"
    path.write_text("scenario,item\n公共安全,井盖\n", encoding="utf-8")
    with pytest.raises(CommandError, match="missing column"):
        call_command("import-taxonomy", str(path))


def test_import_command(taxonomy, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "公共安全,电动车进楼,PS09,平安建设办公室,1,15,4,否,电梯|电动车\n", encoding="utf-8-sig")
    out = io.StringIO()
    call_command("import-taxonomy", str(path), stdout=out)
    assert "1 created" in out.getvalue()
    assert Item.objects.get(code="PS09").scenario.name == "公共安全"
