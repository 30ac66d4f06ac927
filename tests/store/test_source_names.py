"""A source added without a name is never named after a network address when its URL says more."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from polynews.store import sources as source_store


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("http://127.0.0.1:8765/harbour-courier/feed.xml", "Harbour Courier"),
        ("http://localhost:8080/gazette_estuaire/rss", "Gazette Estuaire"),
        ("http://[::1]:9/news/la-voce/index.xml", "La Voce"),
        ("http://127.0.0.1:9/feed.xml", "127.0.0.1"),  # nothing better to say
        ("https://www.example.org/feed.xml", "www.example.org"),  # a host name is a name
    ],
)
def test_default_names(url: str, name: str) -> None:
    assert source_store.default_name(url) == name


def test_a_local_feed_added_without_a_name_is_named_after_its_path(engine: Engine) -> None:
    source = source_store.add_source(
        engine, kind="feed", url="http://127.0.0.1:8765/harbour-courier/feed.xml"
    )
    assert source.name == "Harbour Courier"
    named = source_store.add_source(
        engine, kind="feed", url="http://127.0.0.1:8765/other/feed.xml", name="The Other"
    )
    assert named.name == "The Other"
