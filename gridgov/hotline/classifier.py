"""A text classifier built from a label taxonomy, refined by labelled examples and unlabelled text.

Usable by any app that sorts short Chinese texts into a known set of labels (hotline tickets,
cases). Three parts, each used when its input is there:

1. Zero-shot (taxonomy only). Every label stands for a set of prompts ("name：child" for its
   children, keywords and description; the name alone if it has none: `Label.prompts`). A text's
   score for a label is the mean of its `top_k` highest cosine similarities to that label's
   prompts in e5 embedding space; a softmax with temperature `zs_temperature` turns the scores
   into probabilities. Works on day one.
   Centring: before the similarities, every text's embedding has the mean embedding of the
   office's own texts subtracted (and is normalised again). All citizen messages share a large
   common direction in e5 space ("a complaint to the government") that says nothing about the
   category; removing it lets the category-specific part decide. The mean is taken over the
   labelled training texts (no labels are used for it), or, with fewer than
   `centre_min_texts` of them, over the unlabelled texts given to `fit`; with neither the
   scores are not centred. It raised macro-F1 by about 0.05 (docs/hotline-classifier.md).
2. Few-shot (labelled examples). A logistic regression on the e5 embeddings of the labelled
   texts; its log-probabilities are added to the zero-shot ones (a product of experts), so the
   taxonomy stays the prior and the office's own history refines it.
3. Self-training (unlabelled texts; opt-in, `self_train=True`: it lowered macro-F1 on the
   hotline data). Parts 1+2 label the unlabelled texts; the most confident
   `self_train_fraction` of each predicted class, together with the labelled examples, train a
   TF-IDF (jieba words + character 1–3-grams) logistic regression on the *whole* text (the e5
   part reads only the first `max_chars` characters). Its log-probabilities join the product.

All settings are fixed in `ClassifierConfig` (chosen before the final evaluation, see
docs/hotline-classifier.md); nothing is tuned on the data being predicted.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, NamedTuple, Sequence

import numpy as np

from .embedding import E5Embedder
from .taxonomy import Taxonomy

FORMAT_VERSION = 1
DEFAULT_MODEL_NAME = "hotline-classifier.joblib"

Progress = Callable[[str], None]

_ws = re.compile(r"\s+")


def clean_text(text) -> str:
    return _ws.sub(" ", str(text or "")).strip()


def ticket_text(subject, detail) -> str:
    """The text classified for a ticket: subject, then detail, whitespace collapsed."""
    subject, detail = clean_text(subject), clean_text(detail)
    if subject and detail:
        return f"{subject}。{detail}"
    return subject or detail


class Prediction(NamedTuple):
    label: str
    confidence: float
    alternatives: list  # [(label, probability), ...] after the top label, best first


@dataclass
class ClassifierConfig:
    max_chars: int = 128  # characters of each text the embedder reads
    top_k: int = 2  # prompts averaged per label in the zero-shot score
    centre: bool = True  # subtract the mean embedding of the office's texts before zero-shot scoring
    centre_min_texts: int = 20  # fewer texts than this give no reliable mean
    centre_unlabelled_max: int = 2000  # unlabelled texts embedded for the mean (a deterministic sample)
    zs_temperature: float = 0.01
    lr_c: float = 10.0  # inverse regularisation of the embedding logistic regression
    lr_weight: float = 1.0
    restrict_to_labelled: bool = True  # with labelled examples, predict only labels seen there
    self_train: bool = False  # measured to lower macro-F1 here (docs/hotline-classifier.md); opt in
    self_train_fraction: float = 0.5
    tfidf_c: float = 10.0
    tfidf_weight: float = 1.0
    tfidf_max_chars: int = 2000


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


_seg_cache: dict[str, str] = {}


def _segment(text: str) -> str:
    """jieba words joined by spaces; cached per process (cross-validation re-reads the same texts)."""
    seg = _seg_cache.get(text)
    if seg is None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        seg = " ".join(w for w in jieba.lcut(text) if w.strip())
        if len(_seg_cache) > 50_000:
            _seg_cache.clear()
        _seg_cache[text] = seg
    return seg


class TfidfFeatures:
    """Sparse TF-IDF features: jieba words plus character 1–3-grams."""

    def __init__(self, max_chars: int = 2000, min_df: int = 2):
        self.max_chars = max_chars
        self.min_df = min_df
        self.words = None
        self.chars = None

    def _prep(self, texts):
        texts = [t[: self.max_chars] for t in texts]
        return texts, [_segment(t) for t in texts]

    def fit_transform(self, texts):
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer

        raw, seg = self._prep(texts)
        min_df = self.min_df if len(raw) >= 50 else 1
        self.words = TfidfVectorizer(token_pattern=r"(?u)\S+", sublinear_tf=True, min_df=min_df)
        self.chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=min_df)
        return hstack([self.words.fit_transform(seg), self.chars.fit_transform(raw)]).tocsr()

    def transform(self, texts):
        from scipy.sparse import hstack

        raw, seg = self._prep(texts)
        return hstack([self.words.transform(seg), self.chars.transform(raw)]).tocsr()


class TextClassifier:
    """See the module docstring. `fit` then `predict`; `save`/`load` for persistence."""

    def __init__(self, taxonomy: Taxonomy, config: ClassifierConfig | None = None, embedder=None):
        self.taxonomy = taxonomy
        self.config = config or ClassifierConfig()
        self.embedder = embedder or E5Embedder(max_chars=self.config.max_chars)
        self.labels: list[str] = list(taxonomy.names)
        self.prompt_emb: np.ndarray | None = None
        self.prompt_owner: np.ndarray | None = None
        self.lr = None
        self.centre: np.ndarray | None = None
        self.tfidf = None
        self.tfidf_lr = None
        self.meta: dict = {}

    def __setstate__(self, state):
        # models saved before centring existed have no `centre`: they score uncentred, as trained
        state.setdefault("centre", None)
        self.__dict__.update(state)

    # ---- training -------------------------------------------------------------------------
    def fit(
        self,
        examples: Iterable[tuple[str, str]] = (),
        unlabelled: Iterable[str] = (),
        progress: Progress | None = None,
    ) -> "TextClassifier":
        from sklearn.linear_model import LogisticRegression

        say = progress or (lambda msg: None)
        cfg = self.config
        examples = [(clean_text(t), str(lab).strip()) for t, lab in examples]
        seen = {lab for _, lab in examples}
        unknown = seen - set(self.taxonomy.names)
        if unknown:
            raise ValueError(f"label(s) not in the taxonomy: {', '.join(sorted(unknown))}")
        # never let a labelled text in again through the unlabelled set: dedupe by text, and drop
        # near-copies whose first max_chars characters (all the embedder reads) equal a labelled one's
        labelled_heads = {t[: cfg.max_chars] for t, _ in examples}
        unlabelled = [
            u for u in dict.fromkeys(clean_text(u) for u in unlabelled) if u and u[: cfg.max_chars] not in labelled_heads
        ]
        if examples and cfg.restrict_to_labelled:
            self.labels = [name for name in self.taxonomy.names if name in seen]
        else:
            self.labels = list(self.taxonomy.names)
        tax = self.taxonomy.restricted(self.labels)

        prompts, owner = [], []
        for i, lab in enumerate(tax.labels):
            for p in lab.prompts():
                prompts.append(p)
                owner.append(i)
        say(f"embedding {len(prompts)} taxonomy prompts")
        self.prompt_emb = self.embedder.encode(prompts)
        self.prompt_owner = np.array(owner)

        self.lr = None
        self.centre = None
        X = None
        if examples:
            texts = [t for t, _ in examples]
            say(f"embedding {len(texts)} labelled texts")
            X = self.embedder.encode(texts, progress=_batch_progress(say, "labelled"))
        if examples and len(seen) >= 2:
            y = np.array([self.labels.index(lab) for _, lab in examples])
            self.lr = LogisticRegression(C=cfg.lr_c, max_iter=3000, class_weight="balanced").fit(X, y)
        centred_on = ""
        if cfg.centre:
            if X is not None and len(X) >= cfg.centre_min_texts:
                self.centre, centred_on = X.mean(axis=0), f"{len(X)} labelled texts"
            elif len(unlabelled) >= cfg.centre_min_texts:
                sample = unlabelled
                if len(sample) > cfg.centre_unlabelled_max:
                    step = len(sample) / cfg.centre_unlabelled_max
                    sample = [sample[int(i * step)] for i in range(cfg.centre_unlabelled_max)]
                say(f"embedding {len(sample)} unlabelled texts for the mean")
                U = self.embedder.encode(sample, progress=_batch_progress(say, "unlabelled"))
                self.centre, centred_on = U.mean(axis=0), f"{len(sample)} unlabelled texts"

        self.tfidf = self.tfidf_lr = None
        n_pseudo = 0
        if cfg.self_train and unlabelled:
            say(f"embedding {len(unlabelled)} unlabelled texts")
            P = self._log_proba_dense(unlabelled, progress=_batch_progress(say, "unlabelled"))
            pred, conf = P.argmax(1), P.max(1)
            keep = []
            for c in range(len(self.labels)):
                idx = np.flatnonzero(pred == c)
                if len(idx):
                    n = max(1, int(round(len(idx) * cfg.self_train_fraction)))
                    keep += list(idx[np.argsort(-conf[idx])[:n]])
            keep = sorted(keep)
            n_pseudo = len(keep)
            texts = [t for t, _ in examples] + [unlabelled[i] for i in keep]
            y = np.array([self.labels.index(lab) for _, lab in examples] + [int(pred[i]) for i in keep])
            if len(set(y.tolist())) >= 2:
                say(f"training TF-IDF on {len(examples)} labelled + {n_pseudo} self-labelled texts")
                self.tfidf = TfidfFeatures(max_chars=cfg.tfidf_max_chars)
                Xs = self.tfidf.fit_transform(texts)
                self.tfidf_lr = LogisticRegression(C=cfg.tfidf_c, max_iter=3000, class_weight="balanced").fit(Xs, y)

        self.meta = {
            "labels": list(self.labels),
            "n_labelled": len(examples),
            "n_unlabelled": len(unlabelled),
            "n_self_labelled": n_pseudo,
            "centred_on": centred_on,
            "config": asdict(cfg),
            "embedder": self.embedder.key,
            "taxonomy": self.taxonomy.source,
        }
        return self

    # ---- prediction -----------------------------------------------------------------------
    def _zero_shot_scores(self, E: np.ndarray) -> np.ndarray:
        if self.centre is not None:
            E = E - self.centre
            E = E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-12)
        S = E @ self.prompt_emb.T
        out = np.empty((len(E), len(self.labels)), dtype=np.float64)
        k = self.config.top_k
        for c in range(len(self.labels)):
            s = S[:, self.prompt_owner == c]
            kk = min(k, s.shape[1])
            out[:, c] = np.sort(s, axis=1)[:, -kk:].mean(axis=1)
        return out

    def _log_proba_dense(self, texts: Sequence[str], progress=None) -> np.ndarray:
        E = self.embedder.encode(texts, progress=progress)
        logp = np.log(_softmax(self._zero_shot_scores(E) / self.config.zs_temperature) + 1e-12)
        if self.lr is not None:
            logp = logp + self.config.lr_weight * np.log(self.lr.predict_proba(E) + 1e-12)
        return _softmax(logp)

    def predict_proba(self, texts: Sequence[str], progress=None) -> np.ndarray:
        """Probabilities, one row per text, columns in `self.labels` order."""
        if self.prompt_emb is None:
            raise RuntimeError("the classifier is not fitted")
        texts = [clean_text(t) for t in texts]
        if not texts:
            return np.zeros((0, len(self.labels)))
        P = self._log_proba_dense(texts, progress=progress)
        if self.tfidf_lr is not None:
            logp = np.log(P + 1e-12) + self.config.tfidf_weight * np.log(
                self.tfidf_lr.predict_proba(self.tfidf.transform(texts)) + 1e-12
            )
            P = _softmax(logp)
        return P

    def predict(self, texts: Sequence[str], top: int = 3, progress=None) -> list[Prediction]:
        P = self.predict_proba(texts, progress=progress)
        out = []
        for row in P:
            order = np.argsort(-row)
            best = order[0]
            alts = [(self.labels[j], float(row[j])) for j in order[1:top]]
            out.append(Prediction(self.labels[best], float(row[best]), alts))
        return out

    # ---- persistence ----------------------------------------------------------------------
    def save(self, path) -> Path:
        import joblib

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        joblib.dump({"format": FORMAT_VERSION, "kind": "gridgov.TextClassifier", "classifier": self}, tmp)
        os.replace(tmp, path)  # atomic: a reader never sees half a file
        return path

    @classmethod
    def load(cls, path) -> "TextClassifier":
        import joblib

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no trained model at {path}: run `gridgov hotline train` first")
        blob = joblib.load(path)
        if not isinstance(blob, dict) or blob.get("kind") != "gridgov.TextClassifier":
            raise ValueError(f"{path} is not a gridgov text classifier")
        if blob.get("format") != FORMAT_VERSION:
            raise ValueError(
                f"{path} has model format {blob.get('format')}, this version reads {FORMAT_VERSION}: train it again"
            )
        return blob["classifier"]


def _batch_progress(say: Progress, what: str):
    def report(done, total):
        say(f"  {what}: {done}/{total}")

    return report


def models_dir() -> Path:
    from django.conf import settings

    return Path(settings.DATA_DIR) / "models"


def default_model_path() -> Path:
    return models_dir() / DEFAULT_MODEL_NAME


_cache_lock = threading.Lock()
_cache: dict[str, tuple[tuple[int, int], TextClassifier]] = {}


def get_classifier(path=None) -> TextClassifier:
    """The saved classifier at `path` (default: GRIDGOV_DATA_DIR/models/), loaded once per process
    and loaded again when the file changes."""
    path = Path(path or default_model_path()).resolve()
    try:
        st = path.stat()
    except FileNotFoundError:
        raise FileNotFoundError(f"no trained model at {path}: run `gridgov hotline train` first") from None
    stamp = (st.st_mtime_ns, st.st_size)
    key = str(path)
    with _cache_lock:
        hit = _cache.get(key)
        if hit and hit[0] == stamp:
            return hit[1]
        clf = TextClassifier.load(path)
        _cache[key] = (stamp, clf)
        return clf
