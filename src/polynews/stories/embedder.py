"""The contract of a text embedding model used to compare articles.

One Protocol, so that another model can be plugged in beside the built-in
multilingual-e5-small (:mod:`polynews.stories.embedder_e5`). A vector is only
comparable with vectors of the same ``name`` and ``version``: whoever stores vectors
keeps both beside them and recomputes when they change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
"""A ``(n, dim)`` float32 array whose rows have unit L2 norm."""


@runtime_checkable
class Embedder(Protocol):
    """Turns article texts into unit vectors whose dot product is their cosine similarity."""

    @property
    def name(self) -> str:
        """A stable identifier of the model, e.g. ``"multilingual-e5-small-q4"``."""
        ...

    @property
    def version(self) -> str:
        """Changes whenever the same text could get a different vector (model, prefix, cut)."""
        ...

    @property
    def dim(self) -> int:
        """The length of every vector."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` as one batch: a ``(len(texts), dim)`` float32 array, rows L2-normalised.

        An empty sequence gives a ``(0, dim)`` array. The caller decides what text to
        pass (see :func:`polynews.stories.embedder_e5.lead_text`).
        """
        ...
