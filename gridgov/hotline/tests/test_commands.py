"""`gridgov hotline train` and `gridgov hotline classify` on temporary files."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from .conftest import split


def _write_csv(path, header, rows):
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _write_taxonomy(path, rows):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["一级分类", "二级分类", "三级分类"])
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


def _small_taxonomy(tmp_path, hotline_data):
    """The real taxonomy's rows for three labels (a small file keeps the test quick)."""
    import openpyxl

    wb = openpyxl.load_workbook(hotline_data["taxonomy"], read_only=True)
    keep = {"教育文体", "交通运输", "卫生计生"}
    rows = [r for r in list(wb.worksheets[0].iter_rows(values_only=True))[1:] if r[0] in keep]
    wb.close()
    return _write_taxonomy(tmp_path / "tax.xlsx", rows), keep


def test_train_then_classify(tmp_path, settings, hotline_data):
    settings.DATA_DIR = tmp_path
    tax, keep = _small_taxonomy(tmp_path, hotline_data)
    rows = [r for r in hotline_data["rows"] if r["label"] in keep]
    train, test = split(rows, 3, 2)
    _, unl = split(rows, 0, 2, offset=10)
    labelled = _write_csv(tmp_path / "l.csv", ["id", "subject", "detail", "label"],
                          [[r["id"], r["subject"], r["detail"], r["label"]] for r in train])
    unlabelled = _write_csv(tmp_path / "u.csv", ["subject", "detail"], [[r["subject"], r["detail"]] for r in unl])
    out, err = io.StringIO(), io.StringIO()
    call_command("hotline", "train", "--labelled", str(labelled), "--taxonomy", str(tax),
                 "--unlabelled", str(unlabelled), "--self-train", stdout=out, stderr=err)
    model = tmp_path / "models" / "hotline-classifier.joblib"
    assert model.is_file() and str(model) in out.getvalue()
    assert "labelled: 9" in err.getvalue() and "self-labelled" in err.getvalue()
    # 9 labelled and 6 unlabelled texts are too few for a mean: the command says so
    assert "zero-shot not centred" in err.getvalue()

    infile = _write_csv(tmp_path / "in.csv", ["id", "subject", "detail"], [[r["id"], r["subject"], r["detail"]] for r in test])
    outfile = tmp_path / "out" / "pred.csv"
    call_command("hotline", "classify", str(infile), "--out", str(outfile), stdout=out, stderr=err)
    with outfile.open(encoding="utf-8") as fh:
        got = list(csv.DictReader(fh))
    assert [g["id"] for g in got] == [r["id"] for r in test]
    assert all(g["predicted"] in keep for g in got)
    assert all(0 < float(g["confidence"]) <= 1 for g in got)
    right = sum(g["predicted"] == r["label"] for g, r in zip(got, test))
    assert right >= 3  # of 6; chance is 2


def test_train_missing_column_says_which(tmp_path, settings, hotline_data):
    settings.DATA_DIR = tmp_path
    bad = _write_csv(tmp_path / "bad.csv", ["subject", "detail"], [["学校收费", "乱收费"]])
    with pytest.raises(CommandError, match="missing column 'label'"):
        call_command("hotline", "train", "--labelled", str(bad), "--taxonomy", str(hotline_data["taxonomy"]))
    bad2 = _write_csv(tmp_path / "bad2.csv", ["title", "label"], [["学校收费", "教育文体"]])
    with pytest.raises(CommandError, match="missing column 'subject'"):
        call_command("hotline", "train", "--labelled", str(bad2), "--taxonomy", str(hotline_data["taxonomy"]))


def test_train_bad_rows_say_where(tmp_path, settings, hotline_data):
    settings.DATA_DIR = tmp_path
    f = _write_csv(tmp_path / "l.csv", ["subject", "detail", "label"], [["学校收费", "乱收费", "教育文体"], ["公交", "晚点", ""]])
    with pytest.raises(CommandError, match=r"row 3, column 'label': empty"):
        call_command("hotline", "train", "--labelled", str(f), "--taxonomy", str(hotline_data["taxonomy"]))
    g = _write_csv(tmp_path / "g.csv", ["subject", "detail", "label"], [["学校收费", "乱收费", "火星事务"]])
    with pytest.raises(CommandError, match="not in the taxonomy: 火星事务"):
        call_command("hotline", "train", "--labelled", str(g), "--taxonomy", str(hotline_data["taxonomy"]))
    with pytest.raises(CommandError, match="taxonomy file not found"):
        call_command("hotline", "train", "--labelled", str(g), "--taxonomy", str(tmp_path / "nope.xlsx"))


def test_classify_errors(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    f = _write_csv(tmp_path / "in.csv", ["subject", "detail"], [["学校收费", "乱收费"]])
    with pytest.raises(CommandError, match="gridgov hotline train"):
        call_command("hotline", "classify", str(f), "--out", str(tmp_path / "o.csv"))
    g = _write_csv(tmp_path / "g.csv", ["subject"], [["学校收费"]])
    with pytest.raises(CommandError, match="missing column 'detail'"):
        call_command("hotline", "classify", str(g), "--out", str(tmp_path / "o.csv"))


def test_no_subcommand(settings):
    with pytest.raises(CommandError, match="sub-command"):
        call_command("hotline")


def test_default_taxonomy_is_found_at_run_time(tmp_path, monkeypatch, settings, hotline_data):
    from gridgov.hotline.paths import default_taxonomy_path

    assert default_taxonomy_path() == hotline_data["taxonomy"]
    settings.DATA_DIR = tmp_path
    monkeypatch.setenv("GRIDGOV_SHARED_DATA", str(tmp_path / "elsewhere"))
    f = _write_csv(tmp_path / "l.csv", ["subject", "detail", "label"], [["学校收费", "乱收费", "教育文体"]])
    with pytest.raises(CommandError, match=r"taxonomy file not found: .*elsewhere/hotline/taxonomy.xlsx"):
        call_command("hotline", "train", "--labelled", str(f))


def test_train_from_db_uses_staff_corrections(db, tmp_path, settings, hotline_data, monkeypatch):
    """`--from-db`: tickets whose category staff set join the labelled file's examples (a staff
    label wins over the file's for the same text); imported and classifier categories do not."""
    from django.utils import timezone

    from gridgov.accounts.models import Role
    from gridgov.hotline import classifier, services
    from gridgov.hotline.models import CategorySource, Ticket
    from gridgov.testing import make_user

    settings.DATA_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    tax, keep = _small_taxonomy(tmp_path, hotline_data)
    rows = [r for r in hotline_data["rows"] if r["label"] in keep]
    train, _ = split(rows, 2, 0)
    labelled = _write_csv(tmp_path / "l.csv", ["subject", "detail", "label"],
                          [[r["subject"], r["detail"], r["label"]] for r in train])
    now = timezone.now()
    mk = lambda tid, text, **kw: Ticket.objects.create(ticket_id=tid, received_at=now, month=now.strftime("%Y-%m"),
                                                        content=text, **kw)
    fixed = mk("S1", "学校门口早晚接送孩子的车堵死了路口", category_l1="卫生计生", category_source=CategorySource.CLASSIFIER)
    mk("S2", "公交站牌被撞坏", category_l1="交通运输", category_source=CategorySource.IMPORT)
    other = mk("S3", "村里的水渠坏了", category_l1="卫生计生", category_source=CategorySource.CLASSIFIER)
    staff = make_user("office", Role.LEADER)
    services.set_category(staff, fixed, "交通运输", "城市交通")
    services.set_category(staff, other, "农村农业")  # not among the taxonomy's labels: left out

    seen = {}

    def fake_fit(self, examples=(), unlabelled=(), progress=None):
        seen["examples"], seen["config"], seen["unlabelled"] = list(examples), self.config, list(unlabelled)
        self.meta = {"centred_on": ""}
        self.labels = sorted({lab for _, lab in seen["examples"]})
        return self

    monkeypatch.setattr(classifier.TextClassifier, "fit", fake_fit)
    monkeypatch.setattr(classifier.TextClassifier, "save", lambda self, path: path)
    out, err = io.StringIO(), io.StringIO()
    call_command("hotline", "train", "--labelled", str(labelled), "--taxonomy", str(tax), "--from-db",
                 stdout=out, stderr=err)
    assert ("学校门口早晚接送孩子的车堵死了路口", "交通运输") in seen["examples"]
    assert len(seen["examples"]) == len(train) + 1  # the file + the one usable correction
    assert not any(t in ("公交站牌被撞坏", "村里的水渠坏了") for t, _ in seen["examples"])
    assert "labelled: 7 (1 from staff corrections)" in err.getvalue()
    assert "1 staff-corrected ticket(s) left out" in err.getvalue()
    # every ticket's text (categories unread) is an unlabelled text for centring, newest first;
    # without --self-train there is no self-training
    assert sorted(seen["unlabelled"]) == sorted(["学校门口早晚接送孩子的车堵死了路口", "公交站牌被撞坏", "村里的水渠坏了"])
    assert seen["config"].self_train is False

    call_command("hotline", "train", "--taxonomy", str(tax), "--from-db", stdout=out, stderr=err)
    assert seen["examples"] == [("学校门口早晚接送孩子的车堵死了路口", "交通运输")]
    assert seen["config"].restrict_to_labelled is False  # corrections alone do not narrow the labels
