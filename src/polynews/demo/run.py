"""``polynews demo``: the bundled newsroom, ingested into a fresh data directory."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from polynews.config import Settings
from polynews.demo.corpus import demo_sources
from polynews.demo.server import DemoServer
from polynews.errors import ConfigError
from polynews.pipeline import RunReport, run_pass
from polynews.store import articles as article_store
from polynews.store import open_store
from polynews.store import sources as source_store

log = logging.getLogger(__name__)

MARKER = ".polynews-demo"


def demo_settings(settings: Settings) -> Settings:
    """The settings the demo needs: its server is on loopback and should not be waited on."""
    return settings.replace(
        allow_private_networks=["127.0.0.0/8"],
        per_host_delay=0.0,
        per_host_concurrency=8,
        total_timeout=6.0,
        read_timeout=3.0,
        retries=1,
        retry_backoff=0.2,
        retry_after_max=2.0,
    )


def fresh_data_dir(path: Path) -> None:
    """Empty a data directory that an earlier demo made; refuse to touch any other."""
    if path.exists() and any(path.iterdir()):
        if not (path / MARKER).exists():
            raise ConfigError(
                f"{path} holds data that the demo did not create; "
                "pass --data-dir with a new or demo directory"
            )
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("created by polynews demo; emptied by the next demo run\n")


def register_demo_sources(settings: Settings, base_url: str) -> int:
    """Add every demo source (good and hostile) to the store."""
    engine = open_store(settings)
    try:
        for source in demo_sources(base_url):
            source_store.add_source(
                engine, kind=source.kind, url=source.url, name=source.name, language=source.language
            )
        return len(source_store.list_sources(engine))
    finally:
        engine.dispose()


def _start_newsroom(port: int) -> DemoServer:
    """The demo newsroom on ``port``, or on a free port when that one is taken."""
    try:
        return DemoServer(port=port).start()
    except OSError:
        log.info("demo newsroom port %d is taken; using a free one", port)
        return DemoServer(port=0).start()


def run_demo(
    settings: Settings,
    *,
    once: bool,
    host: str = "127.0.0.1",
    port: int = 8000,
    newsroom_port: int = 8765,
) -> int:
    """Serve the corpus, ingest it, print a summary; then serve the site unless ``once``.

    The newsroom keeps running while the site is served, so the ``Source`` links of the
    demo articles lead somewhere.
    """
    settings = demo_settings(settings)
    data_dir = Path(settings.data_dir)
    fresh_data_dir(data_dir)
    newsroom = _start_newsroom(newsroom_port)
    try:
        count = register_demo_sources(settings, newsroom.base_url)
        print(f"demo newsroom at {newsroom.base_url}: {count} sources registered", flush=True)
        report = asyncio.run(run_pass(settings, force=True))
        _summary(settings, report, data_dir)
        if not once:
            from polynews.web.server import serve

            print(f"serving the site at http://{host}:{port}/ (Ctrl-C stops)", flush=True)
            serve(settings, host=host, port=port)
    finally:
        newsroom.stop()
    return 0


def stories_line(summary: dict[str, Any]) -> str:
    """The demo's one line about stories, from the ``stats`` summary."""
    stories = summary.get("stories") or {}
    count = int(stories.get("count") or 0)
    if not count:
        return "0 stories (the story stage is off or found nothing)"
    largest = stories.get("largest") or {}
    outlets, languages = int(largest.get("outlets", 0)), int(largest.get("languages", 0))
    multi = int(stories.get("multi_outlet") or 0)
    return (
        f"{count} {'story' if count == 1 else 'stories'} "
        f"({multi} reported by more than one outlet); the largest covered by "
        f"{outlets} {'outlet' if outlets == 1 else 'outlets'} in {languages} "
        f"{'language' if languages == 1 else 'languages'}; "
        f"{summary.get('claims', 0)} attributed claims"
    )


def _summary(settings: Settings, report: RunReport, data_dir: Path) -> None:
    engine = open_store(settings)
    try:
        summary = article_store.stats(engine)
        failing = [s for s in source_store.list_sources(engine) if s.last_error]
    finally:
        engine.dispose()
    print(
        f"ingested: {report.ready} articles published, {report.duplicates} duplicates linked, "
        f"{report.source_errors + report.fetch_errors + report.extract_errors} errors",
        flush=True,
    )
    print(json.dumps(summary, ensure_ascii=False, indent=2), flush=True)
    print(stories_line(summary), flush=True)
    if failing:
        print("sources with errors (expected for the hostile demo sources):", flush=True)
        for s in failing:
            print(f"  {s.name}: {s.last_error}", flush=True)
    print(f"data directory: {data_dir.resolve()}", flush=True)
