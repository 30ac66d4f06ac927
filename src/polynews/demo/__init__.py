"""The bundled demo newsroom: an original multilingual corpus and a local server for it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polynews.demo.corpus import DemoSource, GroundTruth, TruthArticle, demo_sources, ground_truth
from polynews.demo.synthetic import synthetic_feed_urls

if TYPE_CHECKING:
    from polynews.demo.server import DemoServer


def __getattr__(name: str) -> Any:
    # Imported lazily so that `python -m polynews.demo.server` does not find the module
    # already loaded by its own package (runpy warns about that).
    if name == "DemoServer":
        from polynews.demo.server import DemoServer

        return DemoServer
    raise AttributeError(f"module 'polynews.demo' has no attribute {name!r}")


__all__ = [
    "DemoServer",
    "DemoSource",
    "GroundTruth",
    "TruthArticle",
    "demo_sources",
    "ground_truth",
    "synthetic_feed_urls",
]
