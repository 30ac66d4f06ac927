"""The bundled demo newsroom: an original multilingual corpus and a local server for it."""

from __future__ import annotations

from polynews.demo.corpus import DemoSource, GroundTruth, TruthArticle, demo_sources, ground_truth
from polynews.demo.server import DemoServer
from polynews.demo.synthetic import synthetic_feed_urls

__all__ = [
    "DemoServer",
    "DemoSource",
    "GroundTruth",
    "TruthArticle",
    "demo_sources",
    "ground_truth",
    "synthetic_feed_urls",
]
