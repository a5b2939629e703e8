"""Hotline classifier: the variants tried in session 1 on the then-shipped design (uncentred
zero-shot, top-3 prompts: `UNCENTRED` below), on the same repeated folds as `bench classify`
(3×5-fold CV on the 197 labelled messages, seeds 0..2), each beside that model (e5 zero-shot × e5
logistic regression) measured in the same run. `python -m bench classify_variants`.

Every choice below was fixed before the run or is fitted inside the training fold only; none
beat that model by more than the noise (docs/hotline-classifier.md, "Tried on the uncentred
model"). Centring, which did, is measured by `bench classify`.
Reads the e5 vectors cached by `bench classify` (bench/out/hotline-embeddings.npz); run that
first. Optional parts:
- wordllama (not a dependency): measured when the package is installed.
- BENCH_CLASSIFY_REPLIES=N: self-training on N messages of messages_with_replies.xlsx (seeded
  sample) filtered by a model of the departments' replies; embeds the N messages once (cached).
"""

import csv
import os

import numpy as np

from bench.bench_classify import OUT, _load, _load_emb_cache, _save_emb_cache
from bench.common import report

SEEDS = (0, 1, 2)


def UNCENTRED():
    from gridgov.hotline.classifier import ClassifierConfig

    return ClassifierConfig(top_k=3, centre=False)


def _replies_sample(d, n, texts):
    """(messages, replies) of a seeded sample of messages_with_replies.xlsx, without any message
    that shares its first 128 characters or a 30+-character stretch of detail with a labelled one."""
    import random

    import openpyxl

    from gridgov.hotline.classifier import clean_text, ticket_text

    wb = openpyxl.load_workbook(d / "messages_with_replies.xlsx", read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    h = [str(c) for c in rows[0]]
    msgs = [ticket_text(r[h.index("留言主题")], r[h.index("留言详情")]) for r in rows[1:]]
    reps = [clean_text(r[h.index("答复意见")]) for r in rows[1:]]
    idx = sorted(random.Random(0).sample(range(len(msgs)), min(n, len(msgs))))
    heads = {t[:128] for t in texts}
    with (d / "labelled_dev.csv").open(encoding="utf-8-sig", newline="") as fh:
        details = [clean_text(r["detail"])[:60] for r in csv.DictReader(fh)]
    details = [x for x in details if len(x) >= 30]
    keep = [i for i in idx if msgs[i][:128] not in heads and len(reps[i]) > 10
            and not any(x in msgs[i] for x in details)]
    return [msgs[i] for i in keep], [reps[i] for i in keep], len(idx)


def run():
    from scipy.optimize import minimize
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import KFold, StratifiedKFold
    from scipy.sparse import csr_matrix, hstack

    from gridgov.hotline.classifier import TextClassifier, TfidfFeatures, _softmax
    from gridgov.hotline.taxonomy import Taxonomy

    d, texts, y, _, _ = _load()
    taxonomy = Taxonomy.from_file(d / "taxonomy.xlsx")
    cache = OUT / "hotline-embeddings.npz"
    _load_emb_cache(cache)
    T = np.array(texts, dtype=object)

    W = None
    try:
        import wordllama
        from wordllama import WordLlama

        wl = WordLlama.load(dim=256, disable_download=True, cache_dir=os.path.dirname(wordllama.__file__))
        W = wl.embed(texts, norm=True)
    except ImportError:
        print("wordllama not installed: its variants are skipped")

    n_rep = int(os.environ.get("BENCH_CLASSIFY_REPLIES", "0"))
    ER = None
    if n_rep:
        r_msgs, r_reps, n_sampled = _replies_sample(d, n_rep, texts)
        print(f"messages_with_replies: {n_sampled} sampled, {len(r_msgs)} kept after the leakage filter", flush=True)
        ER = TextClassifier(taxonomy).embedder.encode(r_msgs)
        top15 = np.array(taxonomy.names)[TextClassifier(taxonomy, UNCENTRED()).fit()._zero_shot_scores(ER).argmax(1)]
        _save_emb_cache(cache)
        XR = TfidfFeatures().fit_transform(r_reps)  # reply texts, no labels
        print(f"15-label zero-shot puts {np.isin(top15, sorted(set(y))).mean():.0%} of them among the {len(set(y))} labelled classes")

    lr = lambda: LogisticRegression(C=10, max_iter=3000, class_weight="balanced")  # noqa: E731
    scores: dict[str, list[float]] = {}

    def add(k, v):
        scores.setdefault(k, []).append(v)

    for seed in SEEDS:
        for tr, te in StratifiedKFold(n_splits=5, shuffle=True, random_state=seed).split(T, y):
            clf = TextClassifier(taxonomy, UNCENTRED()).fit(list(zip(T[tr], y[tr])))
            labs = clf.labels
            C = len(labs)
            ytr = np.array([labs.index(v) for v in y[tr]])
            Etr, Ete = clf.embedder.encode(list(T[tr])), clf.embedder.encode(list(T[te]))
            Ztr, Zte = clf._zero_shot_scores(Etr) / 0.01, clf._zero_shot_scores(Ete) / 0.01
            lzs = np.log(_softmax(Zte) + 1e-12)
            llr = np.log(clf.lr.predict_proba(Ete) + 1e-12)

            def f1(logp):
                return f1_score(y[te], np.array(labs)[logp.argmax(1)], average="macro")

            add("shipped: zero-shot × LR", f1(lzs + llr))
            add("zero-shot alone", f1(lzs))
            # e5 and TF-IDF character 2-3-grams in one logistic regression
            vec = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True, min_df=2)
            Xtr = hstack([csr_matrix(Etr), vec.fit_transform([t[:128] for t in T[tr]])]).tocsr()
            Xte = hstack([csr_matrix(Ete), vec.transform([t[:128] for t in T[te]])]).tocsr()
            add("zero-shot × LR[e5 + char 2-3-gram TF-IDF]", f1(lzs + np.log(lr().fit(Xtr, ytr).predict_proba(Xte) + 1e-12)))
            # zero-shot temperature chosen in the fold (zero-shot log-likelihood of the training labels)
            temp = min([0.005, 0.01, 0.02, 0.03, 0.05], key=lambda t: -np.mean(
                np.log(_softmax(Ztr * 0.01 / t)[np.arange(len(ytr)), ytr] + 1e-12)))
            add("zero-shot (temperature fitted in fold) × LR", f1(np.log(_softmax(Zte * 0.01 / temp) + 1e-12) + llr))
            # per-class bias and a shared scale of the zero-shot scores, fitted in the fold
            wcls = len(ytr) / (C * np.bincount(ytr, minlength=C))

            def nll(p):
                P = _softmax(p[0] * Ztr + p[1:])
                return -np.sum(wcls[ytr] * np.log(P[np.arange(len(ytr)), ytr] + 1e-12)) / len(ytr) + 0.01 * p[1:] @ p[1:]

            p = minimize(nll, np.r_[1.0, np.zeros(C)], method="L-BFGS-B", bounds=[(0.2, 5)] + [(None, None)] * C).x
            add("zero-shot (class biases + scale fitted in fold) × LR", f1(np.log(_softmax(p[0] * Zte + p[1:]) + 1e-12) + llr))
            # nearest labelled-class centroid (cosine, temperature 0.02) as a third expert
            cent = np.stack([Etr[ytr == c].mean(0) for c in range(C)])
            cent /= np.linalg.norm(cent, axis=1, keepdims=True)
            add("zero-shot × LR × class centroids", f1(lzs + llr + np.log(_softmax(Ete @ cent.T / 0.02) + 1e-12)))
            add("zero-shot × LR^0.5", f1(lzs + 0.5 * llr))
            add("zero-shot × LR^2", f1(lzs + 2 * llr))
            if W is not None:
                lw = np.log(lr().fit(W[tr], ytr).predict_proba(W[te]) + 1e-12)
                add("wordllama LR alone", f1(lw))
                add("zero-shot × LR × wordllama LR", f1(lzs + llr + lw))
                add("zero-shot × LR[e5 + wordllama]", f1(lzs + np.log(
                    lr().fit(np.hstack([Etr, W[tr]]), ytr).predict_proba(np.hstack([Ete, W[te]])) + 1e-12)))
            if ER is not None:
                # pseudo-labels from this fold's model; kept when an out-of-fold TF-IDF model of the
                # replies, trained on those pseudo-labels, agrees and 15-label zero-shot puts the
                # message among the labelled classes; added to the LR at weight 0.5
                pm = (np.log(_softmax(clf._zero_shot_scores(ER) / 0.01) + 1e-12)
                      + np.log(clf.lr.predict_proba(ER) + 1e-12)).argmax(1)
                prep = np.empty(len(pm), dtype=int)
                for a, b in KFold(5, shuffle=True, random_state=0).split(XR):
                    m = lr().fit(XR[a], pm[a])
                    prep[b] = m.classes_[m.predict_proba(XR[b]).argmax(1)]
                for name, keep in (("reply agrees, in the 7", (pm == prep) & np.isin(top15, labs)),
                                   ("no filter", np.ones(len(pm), dtype=bool))):
                    Wt = np.r_[np.ones(len(ytr)), 0.5 * np.ones(keep.sum())]
                    m2 = lr().fit(np.vstack([Etr, ER[keep]]), np.r_[ytr, pm[keep]], sample_weight=Wt)
                    add(f"self-training on replies ({name})", f1(lzs + np.log(m2.predict_proba(Ete) + 1e-12)))
                    add(f"  pseudo-labelled kept ({name})", float(keep.sum()))
        print(f"  seed {seed}: " + "; ".join(f"{k} {np.mean(v[-5:]):.3f}" for k, v in scores.items()), flush=True)

    base = scores["shipped: zero-shot × LR"]
    print(f"{len(SEEDS)}×5-fold CV, macro-F1 mean ± std over the {len(base)} folds; Δ = mean paired difference ± its std:")
    for k, v in scores.items():
        if k.startswith("  "):
            print(f"  {k.strip():<52} {np.mean(v):.0f} per fold")
            continue
        diff = np.array(v) - np.array(base)
        print(f"  {k:<54} {np.mean(v):.3f} ± {np.std(v):.3f}   Δ {np.mean(diff):+.3f} ± {np.std(diff):.3f}")
    best = max((k for k in scores if not k.startswith("  ") and k != "shipped: zero-shot × LR"), key=lambda k: np.mean(scores[k]))
    report(f"hotline macro-F1 best variant (×1000): {best}", 1000 * np.mean(scores[best]), "‰",
           "shipped zero-shot × LR, same folds", 1000 * np.mean(base))
