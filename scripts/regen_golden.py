"""Regenerate the expected JSON of the extraction golden files.

Each page listed in ``tests/ingest/golden/pages.json`` is run through
``extract_article`` and the result written beside it as ``<name>.json``. Run this after
a deliberate change to extraction, then review the diff before committing: the JSON
files are never edited by hand.

Usage::

    python scripts/regen_golden.py [NAME ...]
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from polynews.ingest.extract import article_to_json, extract_article
from polynews.model import FeedEntry

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "ingest" / "golden"


def feed_entry(raw: dict[str, Any] | None) -> FeedEntry | None:
    """The FeedEntry a manifest row describes, if any."""
    if raw is None:
        return None
    published = raw.get("published")
    return FeedEntry(
        url=raw["url"],
        title=raw.get("title"),
        author=raw.get("author"),
        published=datetime.fromisoformat(published) if published else None,
        language=raw.get("language"),
    )


def main(names: list[str]) -> None:
    """Rewrite the expected JSON of the named pages (all pages when none is named)."""
    manifest: dict[str, dict[str, Any]] = json.loads((GOLDEN / "pages.json").read_text("utf-8"))
    unknown = sorted(set(names) - set(manifest))
    if unknown:
        sys.exit(f"unknown golden page(s): {', '.join(unknown)}; see {GOLDEN / 'pages.json'}")
    for name, page in manifest.items():
        if names and name not in names:
            continue
        article = extract_article(
            (GOLDEN / page["file"]).read_bytes(),
            url=page["url"],
            entry=feed_entry(page["entry"]),
            encoding=page["encoding"],
        )
        target = GOLDEN / f"{name}.json"
        text = json.dumps(article_to_json(article), ensure_ascii=False, indent=2) + "\n"
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target.relative_to(GOLDEN.parents[2])}")


if __name__ == "__main__":
    main(sys.argv[1:])
