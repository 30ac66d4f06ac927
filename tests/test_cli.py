"""The command line: help everywhere, settings, sources, OPML, extract, stats, demo."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import DemoRun, copy_data_dir
from typer.testing import CliRunner

from polynews.cli import app
from polynews.demo import DemoServer

runner = CliRunner()

COMMANDS = [
    [], ["config"], ["sources"], ["sources", "add"], ["sources", "list"], ["sources", "remove"],
    ["sources", "enable"], ["sources", "disable"], ["sources", "import"], ["sources", "export"],
    ["fetch"], ["run"], ["reextract"], ["stats"], ["extract"], ["demo"], ["engines"],
    ["translate"], ["serve"], ["export"], ["stories"], ["stories", "compare"], ["claims"],
    ["claims", "extract"], ["models"], ["models", "list"], ["models", "install"],
    ["models", "remove"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "polynews")
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_config_prints_effective_settings_with_secrets_redacted(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["--data-dir", str(tmp_path), "--set", "workers=1", "config"],
        env={"POLYNEWS_API_TOKEN": "s3cret", "POLYNEWS_PER_HOST_DELAY": "2.5"},
    )
    assert result.exit_code == 0, result.output
    assert "workers = 1" in result.output
    assert "per_host_delay = 2.5" in result.output
    assert 'api_token = "***"' in result.output
    assert "s3cret" not in result.output


def test_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--data-dir", str(tmp_path), "--set", "workers=zero", "config"])
    assert result.exit_code == 2
    assert "setting 'workers': invalid value 'zero'" in result.output
    result = runner.invoke(app, ["--set", "nonsense", "config"])
    assert result.exit_code == 2 and "NAME=VALUE" in result.output


def test_sources_lifecycle_and_opml_round_trip(tmp_path: Path) -> None:
    d = ["--data-dir", str(tmp_path / "a")]
    ok = runner.invoke(
        app,
        [*d, "sources", "add", "https://one.example/feed.xml", "--language", "fr", "--name", "One"],
    )
    assert ok.exit_code == 0, ok.output
    assert (
        runner.invoke(
            app, [*d, "sources", "add", "https://two.example/sitemap.xml", "--kind", "sitemap"]
        ).exit_code
        == 0
    )
    dup = runner.invoke(app, [*d, "sources", "add", "https://one.example/feed.xml"])
    assert dup.exit_code == 1 and "already registered" in dup.output
    bad = runner.invoke(app, [*d, "sources", "add", "file:///etc/passwd"])
    assert bad.exit_code == 1 and "not an absolute http(s) URL" in bad.output

    assert runner.invoke(app, [*d, "sources", "disable", "2"]).exit_code == 0
    listed = json.loads(runner.invoke(app, [*d, "sources", "list", "--json"]).output)
    assert [(s["url"], s["enabled"], s["language"]) for s in listed] == [
        ("https://one.example/feed.xml", True, "fr"),
        ("https://two.example/sitemap.xml", False, None),
    ]
    opml = tmp_path / "out.opml"
    assert runner.invoke(app, [*d, "sources", "export", str(opml)]).exit_code == 0
    assert b"https://one.example/feed.xml" in opml.read_bytes()

    d2 = ["--data-dir", str(tmp_path / "b")]
    imported = runner.invoke(app, [*d2, "sources", "import", str(opml)])
    assert imported.exit_code == 0 and "imported 1 sources" in imported.output
    again = json.loads(runner.invoke(app, [*d2, "sources", "list", "--json"]).output)
    assert [(s["url"], s["name"], s["language"]) for s in again] == [
        ("https://one.example/feed.xml", "One", "fr")
    ]
    removed = runner.invoke(app, [*d, "sources", "remove", "https://one.example/feed.xml"])
    assert removed.exit_code == 0
    assert len(json.loads(runner.invoke(app, [*d, "sources", "list", "--json"]).output)) == 1


def test_malformed_opml_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.opml"
    bad.write_bytes(b"<opml><body><outline xmlUrl='https://x.example/rss'></body>")
    result = runner.invoke(app, ["--data-dir", str(tmp_path), "sources", "import", str(bad)])
    assert result.exit_code == 1
    assert "polynews: error:" in result.output and "OPML" in result.output


def test_extract_prints_the_documented_json(tmp_path: Path) -> None:
    with DemoServer() as server:
        url = server.base_url + "/harbour-courier/news/2025/10/31/lumen-lunar-orbiter-launch"
        result = runner.invoke(
            app,
            [
                "--data-dir",
                str(tmp_path),
                "--set",
                "allow_private_networks=127.0.0.0/8",
                "extract",
                url,
            ],
        )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {
        "title",
        "author",
        "published",
        "outlet",
        "language",
        "canonical_url",
        "image",
        "paragraphs",
    }
    assert data["language"] == "en"
    assert data["title"] and len(data["paragraphs"]) >= 3
    page = tmp_path / "page.html"
    page.write_text(
        "<html><body><article><h1>Hi</h1>"
        + "<p>Le conseil municipal a voté le budget de la ville pour l'année prochaine, "
        "avec une hausse des investissements.</p>" * 3 + "</article></body></html>",
        "utf-8",
    )
    from_file = json.loads(
        runner.invoke(app, ["--data-dir", str(tmp_path), "extract", str(page)]).output
    )
    assert from_file["language"] == "fr"


def test_extract_refuses_private_addresses_by_default(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--data-dir", str(tmp_path), "extract", "http://127.0.0.1:9/x"])
    assert result.exit_code == 1
    assert "loopback" in result.output and "allow_private_networks" in result.output


# demo_once ran `polynews --data-dir X demo --once` for the test run (tests/conftest.py); the
# ground-truth and browser tests read the same data.
def test_demo_once_then_stats(tmp_path: Path, demo_once: DemoRun) -> None:
    done = demo_once.done
    assert done.returncode == 0, done.stderr[-3000:]
    data = tmp_path / "demo"  # a copy: this test runs the demo in it again
    copy_data_dir(demo_once.data_dir, data)
    cmd = [sys.executable, "-m", "polynews.cli", "--data-dir", str(data)]
    assert "articles published" in done.stdout
    stats = json.loads(
        subprocess.run([*cmd, "stats", "--json"], capture_output=True, text=True, check=True).stdout
    )
    assert stats["articles"] >= 40
    assert len(stats["by_language"]) >= 7
    assert stats["duplicates"] >= 4
    assert stats["sources_with_errors"] >= 8
    assert set(stats["translations"]) == {"en", "es", "de", "fr", "it", "uk"}
    # The eight demo stories, each reported by several outlets, and their claims.
    stories = stats["stories"]
    assert stories["multi_outlet"] == 8 and stories["count"] >= 8
    largest = stories["largest"]
    assert largest["outlets"] >= 5 and largest["languages"] >= 5
    assert stats["claims"] > 0
    line = (
        f"{stories['count']} stories (8 reported by more than one outlet); the largest covered "
        f"by {largest['outlets']} outlets in {largest['languages']} languages"
    )
    assert line in done.stdout
    site = tmp_path / "site"
    exported = subprocess.run(
        [*cmd, "export", str(site), "--base-url", "https://news.example.org/"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert re.match(r"exported \d+ pages, \d+ feeds, 1 sitemap and \d+ assets", exported.stdout)
    assert (site / "sitemap.xml").is_file()
    for lang in ("en", "es", "de", "fr", "it", "uk"):
        assert (site / lang / "index.html").is_file()
        assert (site / lang / "feed.xml").is_file()
    # a second demo run starts fresh in a directory it made itself (without translating
    # or stories, which are slow and were shown above: none of the first run's
    # translations or stories remain) ...
    again = subprocess.run(
        [*cmd, "--set", "translate=false", "--set", "stories=false", "demo", "--once"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert "0 stories (the story stage is off" in again.stdout
    assert again.returncode == 0, again.stderr[-3000:]
    fresh = json.loads(
        subprocess.run([*cmd, "stats", "--json"], capture_output=True, text=True, check=True).stdout
    )
    assert fresh["translations"] == {}
    # claims belong to the articles: extracted as they are published, stories on or off
    assert fresh["stories"]["count"] == 0 and fresh["claims"] > 0
    assert fresh["articles"] >= 40
    # ... but never empties a directory it did not make
    other = tmp_path / "precious"
    other.mkdir()
    (other / "notes.txt").write_text("mine", "utf-8")
    refused = subprocess.run(
        [sys.executable, "-m", "polynews.cli", "--data-dir", str(other), "demo", "--once"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "did not create" in refused.stderr
    assert (other / "notes.txt").read_text("utf-8") == "mine"
