"""The classifier engine, on small slices of the real hotline data (e5 embeddings are cached
per process, so the tests share the cost of embedding the taxonomy prompts)."""

import numpy as np
import pytest

from gridgov.hotline.classifier import ClassifierConfig, TextClassifier, get_classifier, ticket_text
from gridgov.hotline.taxonomy import DataFileError, Label, Taxonomy

from .conftest import split


def _texts(rows):
    return [ticket_text(r["subject"], r["detail"]) for r in rows]


def _macro_accuracy(y, pred):
    labels = sorted(set(y))
    return np.mean([np.mean([p == lab for p, t in zip(pred, y) if t == lab]) for lab in labels])


def test_zero_shot_from_taxonomy_alone_beats_chance(taxonomy3, rows3):
    _, held_out = split(rows3, 0, 3)
    clf = TextClassifier(taxonomy3).fit()  # no labels at all
    assert clf.labels == taxonomy3.names
    preds = clf.predict(_texts(held_out))
    y = [r["label"] for r in held_out]
    # chance is 1/3; on all 7 classes zero-shot measures ≈ 0.80 macro-F1 (docs/hotline-classifier.md)
    assert _macro_accuracy(y, [p.label for p in preds]) >= 0.6
    for p in preds:
        assert 0 < p.confidence <= 1
        assert len(p.alternatives) == 2
        assert p.confidence >= p.alternatives[0][1] >= p.alternatives[1][1]


def test_train_on_a_small_slice_and_predict(taxonomy3, rows3):
    train, test = split(rows3, 3, 2)
    unlabelled = _texts(split(rows3, 0, 1, offset=8)[1])
    clf = TextClassifier(taxonomy3, ClassifierConfig(self_train=True, self_train_fraction=1.0)).fit(
        [(t, r["label"]) for t, r in zip(_texts(train), train)], unlabelled
    )
    assert clf.lr is not None and clf.tfidf_lr is not None
    assert clf.meta["n_labelled"] == len(train) and clf.meta["n_self_labelled"] > 0
    preds = clf.predict(_texts(test), top=3)
    assert [p.label for p in preds].count(None) == 0
    assert _macro_accuracy([r["label"] for r in test], [p.label for p in preds]) >= 0.6
    P = clf.predict_proba(_texts(test))
    assert np.allclose(P.sum(1), 1)


def test_labelled_texts_never_come_back_as_unlabelled(taxonomy3, rows3):
    train, _ = split(rows3, 2, 0)
    texts = _texts(train)
    clf = TextClassifier(taxonomy3, ClassifierConfig(self_train=True)).fit(
        [(t, r["label"]) for t, r in zip(texts, train)], texts + [" " + texts[0] + " ", texts[1]]
    )
    assert clf.meta["n_unlabelled"] == 0 and clf.tfidf_lr is None


def test_labels_restricted_to_those_labelled(hotline_data, rows3):
    tax = Taxonomy.from_file(hotline_data["taxonomy"])
    assert len(tax.names) == 15
    train, _ = split(rows3, 2, 0)
    train = [r for r in train if r["label"] in ("教育文体", "交通运输")]
    clf = TextClassifier(tax).fit([(t, r["label"]) for t, r in zip(_texts(train), train)])
    assert clf.labels == ["交通运输", "教育文体"]
    assert clf.predict(["学校食堂收费太高"])[0].label == "教育文体"


def test_unknown_label_is_refused(taxonomy3):
    with pytest.raises(ValueError, match="not in the taxonomy: 外星事务"):
        TextClassifier(taxonomy3).fit([("a", "外星事务"), ("b", "教育文体")])


def test_save_load_round_trip_and_cache(tmp_path, taxonomy3, rows3, settings):
    settings.DATA_DIR = tmp_path
    train, test = split(rows3, 2, 1)
    clf = TextClassifier(taxonomy3).fit([(t, r["label"]) for t, r in zip(_texts(train), train)])
    path = clf.save(tmp_path / "models" / "m.joblib")
    again = TextClassifier.load(path)
    texts = _texts(test)
    assert np.allclose(clf.predict_proba(texts), again.predict_proba(texts))
    assert again.meta == clf.meta
    first = get_classifier(path)
    assert get_classifier(path) is first  # cached per process
    zero = TextClassifier(taxonomy3).fit()
    zero.save(path)  # the file changes: the next call loads it again
    reloaded = get_classifier(path)
    assert reloaded is not first and reloaded.meta["n_labelled"] == 0


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="gridgov hotline train"):
        TextClassifier.load(tmp_path / "none.joblib")
    import joblib

    joblib.dump({"something": 1}, tmp_path / "x.joblib")
    with pytest.raises(ValueError, match="not a gridgov text classifier"):
        TextClassifier.load(tmp_path / "x.joblib")
    joblib.dump({"kind": "gridgov.TextClassifier", "format": 0, "classifier": None}, tmp_path / "y.joblib")
    with pytest.raises(ValueError, match="train it again"):
        TextClassifier.load(tmp_path / "y.joblib")


def test_taxonomy_from_xlsx_has_three_levels(hotline_data):
    tax = Taxonomy.from_file(hotline_data["taxonomy"])
    lab = tax.get("城乡建设")
    assert "安全生产：事故处理" in lab.children and "安全生产" not in lab.children
    # the children are the leaves: one per row (517 rows, level 3 always filled)
    assert sum(len(lab.children) for lab in tax.labels) == 517
    assert len(tax.get("农村农业").children) == 56


def test_taxonomy_two_levels_and_merged_cells():
    tax = Taxonomy.from_rows([("交通", "公交", None), (None, "出租车", None), ("教育", None, None)])
    assert tax.get("交通").children == ["公交", "出租车"]
    assert tax.get("教育").prompts() == ["教育"]


def test_taxonomy_errors(tmp_path):
    with pytest.raises(DataFileError, match="not found"):
        Taxonomy.from_file(tmp_path / "missing.xlsx")
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook")
    with pytest.raises(DataFileError, match="not a readable .xlsx"):
        Taxonomy.from_file(bad)
    with pytest.raises(DataFileError, match="duplicate"):
        Taxonomy([Label("a"), Label("a")])


def test_label_prompts_use_description_children_keywords():
    lab = Label("教育文体", description="学校与文化体育", children=["考试招生"], keywords=["学区"])
    assert lab.prompts() == ["教育文体：学校与文化体育", "教育文体：考试招生", "教育文体：学区"]


class _VectorEmbedder:
    """A stand-in embedder with hand-made vectors: every text shares one large common direction
    (axis 0) and carries a small category signal (axis 1 = 交通, axis 2 = 教育), as citizen
    messages do in e5 space. Prompts ("交通：…", "教育：…") point at their category, each with a
    different share of the common direction."""

    key = "test-vectors"

    def encode(self, texts, progress=None):
        rows = []
        for t in texts:
            if t.startswith("交通："):
                v = [0.2, 1.0, 0.0]  # little of the common direction
            elif t.startswith("教育："):
                v = [1.0, 0.0, 0.6]  # much of it
            else:
                v = [5.0, 0.3 if "车" in t else 0.0, 0.3 if "学" in t else 0.0]
            rows.append(np.array(v) / np.linalg.norm(v))
        return np.array(rows, dtype=np.float32)


def _vector_taxonomy():
    return Taxonomy([Label("交通", children=["公交"]), Label("教育", children=["学校"])])


def test_zero_shot_is_centred_on_the_office_texts():
    """Uncentred, the common direction decides (every message looks like 教育, whose prompt
    shares it most); centred on the office's texts, the category signal decides."""
    tax, emb = _vector_taxonomy(), _VectorEmbedder()
    texts = ["公交车不准点"] * 12 + ["学校收费太高"] * 12
    labels = ["交通"] * 12 + ["教育"] * 12
    raw = TextClassifier(tax, ClassifierConfig(centre=False, lr_weight=0.0), embedder=emb).fit(list(zip(texts, labels)))
    assert raw.centre is None
    assert {p.label for p in raw.predict(["公交车不准点", "学校收费太高"])} == {"教育"}

    clf = TextClassifier(tax, ClassifierConfig(lr_weight=0.0), embedder=emb).fit(list(zip(texts, labels)))
    assert clf.meta["centred_on"] == "24 labelled texts"
    assert np.allclose(clf.centre, emb.encode(texts).mean(axis=0))
    assert [p.label for p in clf.predict(["公交车不准点", "学校收费太高"])] == ["交通", "教育"]


def test_centred_on_unlabelled_texts_without_enough_labels():
    tax, emb = _vector_taxonomy(), _VectorEmbedder()
    unlabelled = [f"公交车{i}路" for i in range(15)] + [f"学校{i}" for i in range(15)]
    zero = TextClassifier(tax, embedder=emb).fit(unlabelled=unlabelled)  # day one: no labels
    assert zero.meta["centred_on"] == "30 unlabelled texts"
    assert [p.label for p in zero.predict(["公交车不准点", "学校收费太高"])] == ["交通", "教育"]
    few = TextClassifier(tax, ClassifierConfig(centre_unlabelled_max=10), embedder=emb).fit(
        [("公交车晚点", "交通"), ("学校乱收费", "教育")], unlabelled
    )
    assert few.meta["centred_on"] == "10 unlabelled texts"  # 2 labelled are too few for a mean
    assert TextClassifier(tax, embedder=emb).fit(unlabelled=unlabelled[:5]).centre is None


def test_a_model_saved_before_centring_still_predicts_uncentred(tmp_path):
    import joblib

    tax, emb = _vector_taxonomy(), _VectorEmbedder()
    old = TextClassifier(tax, ClassifierConfig(centre=False, lr_weight=0.0), embedder=emb).fit()
    del old.__dict__["centre"]  # as pickled by the version before centring
    joblib.dump({"format": 1, "kind": "gridgov.TextClassifier", "classifier": old}, tmp_path / "old.joblib")
    loaded = TextClassifier.load(tmp_path / "old.joblib")
    assert loaded.centre is None
    assert loaded.predict(["公交车不准点"])[0].label == "教育"
