import csv

import pytest

from gridgov.hotline.paths import shared_data_dir


@pytest.fixture(scope="session")
def hotline_data():
    """The real labelled messages and taxonomy from ../shared/data/hotline (never copied)."""
    d = shared_data_dir() / "hotline"
    if not (d / "labelled_dev.csv").is_file():
        pytest.fail(f"shared data not found at {d}")
    with (d / "labelled_dev.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {"dir": d, "rows": rows, "taxonomy": d / "taxonomy.xlsx"}


# three of the seven labelled classes: e5 is slow on a busy 2-core machine, so the tests embed
# only these labels' 76 taxonomy prompts (cached per process, shared by the tests)
LABELS3 = ("交通运输", "卫生计生", "教育文体")


@pytest.fixture(scope="session")
def taxonomy3(hotline_data):
    from gridgov.hotline.taxonomy import Taxonomy

    return Taxonomy.from_file(hotline_data["taxonomy"]).restricted(LABELS3)


@pytest.fixture(scope="session")
def rows3(hotline_data):
    return [r for r in hotline_data["rows"] if r["label"] in LABELS3]


def split(rows, per_class_train, per_class_test, offset=0):
    """Deterministic per-class slices: the first `per_class_train` of each class for training,
    the next `per_class_test` for testing."""
    by = {}
    for r in rows:
        by.setdefault(r["label"], []).append(r)
    train, test = [], []
    for label in sorted(by):
        items = by[label][offset:]
        train += items[:per_class_train]
        test += items[per_class_train : per_class_train + per_class_test]
    return train, test


@pytest.fixture
def places(street):
    """Standard addresses in the small street (see gridgov.hotline.tests.util.make_places)."""
    from .util import make_places

    return make_places(street)
