"""``polynews models`` against a package index served on 127.0.0.1.

The packages are built from the tiny fixture model (:mod:`tests.translate.model_index`),
so installing one goes through the real download, unzip, metadata, CTranslate2 and
SentencePiece checks, and the installed models really translate (into nonsense).
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import test_settings
from tests.translate.model_index import (
    IndexServer,
    build_package,
    corrupt,
    index_server,
    sha256,
)
from typer.testing import CliRunner, Result

from polynews.cli import app
from polynews.config import SITE_LANGUAGES, defaults
from polynews.errors import ModelError
from polynews.store import open_store
from polynews.store.schema import articles
from polynews.store.schema_translate import translations
from polynews.translate.ctranslate2_backend import create
from polynews.translate.models import INSTALL_RECORD, install_packages, site_language_plan
from polynews.translate.models_cli import download_bars
from polynews.translate.package_index import fetch_index, parse_index
from polynews.translate.stage import translate_pending
from polynews.translate.translator import Translator

runner = CliRunner()
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (WARNING|INFO) polynews\.")
PIVOT_DIRECTIONS = [(lang, "en") for lang in SITE_LANGUAGES if lang != "en"] + [
    ("en", lang) for lang in SITE_LANGUAGES if lang != "en"
]


@pytest.fixture(scope="session")
def packages() -> dict[tuple[str, str], bytes]:
    """One package per X→en and en→X direction of the site languages, built once."""
    return {direction: build_package(*direction) for direction in PIVOT_DIRECTIONS}


@pytest.fixture
def index() -> Iterator[IndexServer]:
    """An empty package index server; tests publish what they need."""
    with index_server() as server:
        yield server


def polynews(data_dir: Path, index_url: str, *args: str, neural_only: bool = True) -> Result:
    """Run the command line on ``data_dir`` with the local index allowed."""
    options = [
        "--data-dir",
        str(data_dir),
        "--set",
        "allow_private_networks=127.0.0.0/8",
        "--set",
        f"models_index_url={index_url}",
        "--set",
        "read_timeout=3",
        "--set",
        "connect_timeout=3",
        # one thread: starting CTranslate2's thread pool costs more than loading a tiny model
        "--set",
        "ctranslate2_intra_threads=1",
    ]
    if neural_only:
        options += ["--set", "translation_backends=ctranslate2"]
    return runner.invoke(app, [*options, *args])


def model_entries(data_dir: Path) -> list[str]:
    """Every name in the models directory, hidden ones included."""
    directory = data_dir / "models"
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def publish(index: IndexServer, packages: dict[tuple[str, str], bytes]) -> str:
    """Publish every package of ``packages`` in the index; return the index URL."""
    return index.publish([index.index_entry(s, t, data) for (s, t), data in packages.items()])


# -- installing one direction ---------------------------------------------------------------


def test_install_one_direction_is_used_at_once(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    url = publish(index, packages)
    result = polynews(tmp_path, url, "models", "install", "de", "en")
    assert result.exit_code == 0, result.output
    assert "installed de→en 1.0 into" in result.stdout
    assert model_entries(tmp_path) == ["translate-de_en"]
    record = json.loads((tmp_path / "models" / "translate-de_en" / INSTALL_RECORD).read_text())
    assert record["sha256"] == sha256(packages[("de", "en")])
    assert record["link"].endswith("/packages/translate-de_en-1_0.argosmodel")

    engines = polynews(tmp_path, url, "engines")
    assert engines.exit_code == 0, engines.output
    assert "| de | ctranslate2 de→en |" in engines.stdout

    translated = runner.invoke(
        app,
        [
            "--data-dir",
            str(tmp_path),
            "--set",
            "translation_backends=ctranslate2",
            "--set",
            "ctranslate2_intra_threads=1",
            "translate",
            "--from",
            "de",
            "--to",
            "en",
            "--explain",
        ],
        input="Der Zug nach Hamburg fiel aus.\n",
    )
    assert translated.exit_code == 0, translated.output
    assert "route: ctranslate2 de→en" in translated.stderr
    assert len(translated.stdout.splitlines()) == 1 and translated.stdout.strip()


def test_reinstall_is_idempotent_and_a_new_version_replaces_the_old(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    url = publish(index, {("en", "uk"): packages[("en", "uk")]})
    assert polynews(tmp_path, url, "models", "install", "en", "uk").exit_code == 0
    asked = len(index.package_requests())
    again = polynews(tmp_path, url, "models", "install", "en", "uk")
    assert again.exit_code == 0, again.output
    assert "already installed (1.0" in again.stdout and "nothing to do" in again.stdout
    assert len(index.package_requests()) == asked  # nothing downloaded
    assert model_entries(tmp_path) == ["translate-en_uk"]

    newer = build_package("en", "uk", version="1.1")
    url = index.publish([index.index_entry("en", "uk", newer, version="1.1")])
    listing = polynews(tmp_path, url, "models", "list")
    assert "installed 1.0, reinstall for 1.1" in listing.stdout
    upgraded = polynews(tmp_path, url, "models", "install", "en", "uk")
    assert upgraded.exit_code == 0, upgraded.output
    assert "installed en→uk 1.1" in upgraded.stdout
    assert model_entries(tmp_path) == ["translate-en_uk"]  # replaced, no leftovers
    assert create(defaults().replace(data_dir=tmp_path)).packages[("en", "uk")].version == "1.1"


def test_no_direct_package_names_the_pivot_pair(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    url = publish(index, packages)
    result = polynews(tmp_path, url, "models", "install", "de", "uk")
    assert result.exit_code == 1
    message = result.stderr
    assert "the index has no de→uk package" in message
    assert "de→en and en→uk would serve it" in message
    assert "`polynews models install de en` and `polynews models install en uk`" in message
    assert "--site-languages" in message
    assert model_entries(tmp_path) == []

    url = publish(index, {("de", "en"): packages[("de", "en")]})
    result = polynews(tmp_path, url, "models", "install", "de", "uk")
    assert result.exit_code == 1
    assert "no de→uk package, and no en→uk to go through English" in result.stderr


# -- every site direction -------------------------------------------------------------------


def test_site_languages_fill_every_cell_of_engines(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    url = publish(index, packages)
    before = polynews(tmp_path, url, "engines")
    assert "0 of 30 directions covered" in before.stdout

    result = polynews(tmp_path, url, "models", "install", "--site-languages")
    assert result.exit_code == 0, result.output
    assert "10 installed, 0 failed, 0 skipped" in result.stdout
    assert "30 of 30 directions between the site languages covered" in result.stdout
    assert sorted(model_entries(tmp_path)) == sorted(
        f"translate-{s}_{t}" for s, t in PIVOT_DIRECTIONS
    )

    engines = polynews(tmp_path, url, "engines")
    assert "30 of 30 directions covered" in engines.stdout
    site_rows = [
        row for row in engines.stdout.splitlines() if row.startswith("| ") and "*" not in row
    ]
    assert site_rows and not any("no engine" in row for row in site_rows)
    assert "| de | ctranslate2 de→en | ctranslate2 de→en→es |" in engines.stdout

    again = polynews(tmp_path, url, "models", "install", "--site-languages")
    assert again.exit_code == 0, again.output
    assert "0 installed, 0 failed, 10 skipped" in again.stdout
    assert again.stdout.count("already installed") == 10

    translated = runner.invoke(
        app,
        [
            *("--data-dir", str(tmp_path), "--set", "translation_backends=ctranslate2"),
            *("--set", "ctranslate2_intra_threads=1"),
            *("translate", "--from", "uk", "--to", "de", "--explain"),
        ],
        input="Міська рада ухвалила бюджет.\n",
    )
    assert translated.exit_code == 0, translated.output
    assert "route: ctranslate2 uk→en→de" in translated.stderr


@pytest.mark.apertium
def test_site_languages_skip_what_apertium_covers(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes], apertium: object
) -> None:
    url = publish(index, packages)
    result = polynews(tmp_path, url, "models", "install", "--site-languages", neural_only=False)
    assert result.exit_code == 0, result.output
    assert "es→en    covered by apertium, skipped" in result.stdout
    assert "en→es    covered by apertium, skipped" in result.stdout
    assert "translate-es_en" not in model_entries(tmp_path)
    assert "translate-de_en" in model_entries(tmp_path)
    assert "30 of 30 directions between the site languages covered" in result.stdout


def test_site_language_plan_without_index_entries_says_unavailable() -> None:
    index = parse_index(
        json.dumps(
            [
                {
                    "from_code": "de",
                    "to_code": "en",
                    "package_version": "1.0",
                    "links": ["http://x/a"],
                }
            ]
        ).encode(),
        "http://x/index.json",
    )
    steps = {s.direction: s.action for s in site_language_plan(["en", "de"], index, {}, {})}
    assert steps == {("de", "en"): "install", ("en", "de"): "unavailable"}


# -- refused packages: nothing is left installed ------------------------------------------------


def assert_refused(result: Result, data_dir: Path, *phrases: str) -> None:
    """One clear line on stderr, status 1, and an empty models directory."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("polynews: error: ")]
    assert len(errors) == 1, result.stderr
    # anything else is a log line (the SSRF guard logs what it refused)
    assert all(LOG_LINE.match(line) for line in lines if line not in errors), result.stderr
    for phrase in phrases:
        assert phrase in errors[0]
    assert model_entries(data_dir) == []  # no package, no hidden leftovers
    # and no empty models directory, which would make every command warn
    assert not (data_dir / "models").exists()


def test_corrupt_package_is_refused(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    url = index.publish([index.index_entry("de", "en", corrupt(packages[("de", "en")]))])
    result = polynews(tmp_path, url, "models", "install", "de", "en")
    assert_refused(result, tmp_path, "not a valid .argosmodel package", "corrupt or truncated")


def test_truncated_download_is_refused(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    entry = index.index_entry("de", "en", packages[("de", "en")])
    url = index.publish([entry])
    index.faults[entry["links"][0].removeprefix(index.url)] = "truncate"
    result = polynews(tmp_path, url, "models", "install", "de", "en")
    assert_refused(result, tmp_path, "download of the de→en package", "is incomplete")


def test_truncated_download_without_length_is_refused(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    entry = index.index_entry("de", "en", packages[("de", "en")])
    url = index.publish([entry])
    index.faults[entry["links"][0].removeprefix(index.url)] = "truncate-no-length"
    result = polynews(tmp_path, url, "models", "install", "de", "en")
    assert_refused(result, tmp_path, "corrupt or truncated")


def test_stalled_download_times_out_and_is_refused(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    entry = index.index_entry("de", "en", packages[("de", "en")])
    url = index.publish([entry])
    index.faults[entry["links"][0].removeprefix(index.url)] = "stall"
    result = polynews(tmp_path, url, "--set", "read_timeout=0.5", "models", "install", "de", "en")
    assert_refused(result, tmp_path, "is incomplete (no data within read_timeout)")


def test_wrong_direction_package_is_refused(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    # the index says de→en, the package's metadata.json says en→de
    url = index.publish([index.index_entry("de", "en", packages[("en", "de")])])
    result = polynews(tmp_path, url, "models", "install", "de", "en")
    assert_refused(result, tmp_path, "is for en→de", "not de→en; refused")


def test_checksum_mismatch_is_refused_and_a_match_installs(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    data = packages[("de", "en")]
    wrong = sha256(data + b"x")
    url = index.publish([index.index_entry("de", "en", data, checksum=wrong)])
    result = polynews(tmp_path, url, "models", "install", "de", "en")
    assert_refused(result, tmp_path, "fails its checksum", wrong)

    url = index.publish([index.index_entry("de", "en", data, checksum=f"sha256:{sha256(data)}")])
    result = polynews(tmp_path, url, "models", "install", "de", "en")
    assert result.exit_code == 0, result.output


def test_model_that_cannot_be_loaded_is_refused(tmp_path: Path, index: IndexServer) -> None:
    broken = build_package("de", "en", break_model=True)
    url = index.publish([index.index_entry("de", "en", broken)])
    result = polynews(tmp_path, url, "models", "install", "de", "en")
    assert_refused(result, tmp_path, "cannot be loaded", "CTranslate2 cannot load it")


def test_package_over_the_size_cap_is_refused(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    url = index.publish([index.index_entry("de", "en", packages[("de", "en")])])
    result = polynews(
        tmp_path, url, "--set", "models_max_bytes=1000", "models", "install", "de", "en"
    )
    assert_refused(result, tmp_path, "more than models_max_bytes (1000)")


def test_failed_link_falls_back_to_the_next_one(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    entry = index.index_entry("de", "en", packages[("de", "en")])
    index.faults["/packages/moved.argosmodel"] = ("redirect", entry["links"][0])
    entry["links"] = [
        f"{index.url}/packages/missing.argosmodel",
        f"{index.url}/packages/moved.argosmodel",
    ]
    url = index.publish([entry])
    result = polynews(tmp_path, url, "models", "install", "de", "en")
    assert result.exit_code == 0, result.output
    assert model_entries(tmp_path) == ["translate-de_en"]


def test_a_failed_upgrade_keeps_the_installed_model(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    url = publish(index, {("de", "en"): packages[("de", "en")]})
    assert polynews(tmp_path, url, "models", "install", "de", "en").exit_code == 0
    bad = corrupt(build_package("de", "en", version="2.0"))
    url = index.publish([index.index_entry("de", "en", bad, version="2.0")])
    result = polynews(tmp_path, url, "models", "install", "de", "en")
    assert result.exit_code == 1
    assert model_entries(tmp_path) == ["translate-de_en"]
    assert create(defaults().replace(data_dir=tmp_path)).packages[("de", "en")].version == "1.0"


# -- the index ------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_index_is_a_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/index.json"
    result = polynews(tmp_path, url, "models", "install", "de", "en")
    assert result.exit_code == 1
    assert result.stderr.startswith("polynews: error: cannot read the model index")
    assert url in result.stderr and "cannot reach" in result.stderr

    listing = polynews(tmp_path, url, "models", "list")
    assert listing.exit_code == 0, listing.output
    assert "installed in" in listing.stdout and "  none" in listing.stdout
    assert "packages available: unknown, cannot read the model index" in listing.stderr


def test_installed_direction_needs_no_index(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    url = publish(index, {("de", "en"): packages[("de", "en")]})
    assert polynews(tmp_path, url, "models", "install", "de", "en").exit_code == 0
    down = f"http://127.0.0.1:{_closed_port()}/index.json"
    result = polynews(tmp_path, down, "models", "install", "de", "en")
    assert result.exit_code == 0, result.output
    assert "de→en is already installed (1.0" in result.stdout
    assert "cannot check for a newer version: cannot read the model index" in result.stderr
    listing = polynews(tmp_path, down, "models", "list")
    assert listing.exit_code == 0 and "de→en    argos    1.0" in listing.stdout


def test_index_on_a_private_address_needs_allow_private_networks(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    url = publish(index, packages)
    result = runner.invoke(
        app,
        [
            *("--data-dir", str(tmp_path), "--set", f"models_index_url={url}"),
            *("models", "install", "de", "en"),
        ],
    )
    assert result.exit_code == 1
    assert "a loopback address" in result.stderr
    assert "allow_private_networks" in result.stderr
    assert index.requests == []


def test_malformed_index_is_a_clear_error(tmp_path: Path, index: IndexServer) -> None:
    index.files["/index.json"] = b"<html>not json</html>"
    result = polynews(tmp_path, f"{index.url}/index.json", "models", "install", "de", "en")
    assert result.exit_code == 1
    assert "is not valid JSON" in result.stderr


def test_index_parsing_follows_argos_format() -> None:
    entries = [
        {"from_code": "de", "to_code": "en", "package_version": "1.3", "links": ["https://a/1"]},
        {"from_code": "de", "to_code": "en", "package_version": "1.10", "links": ["https://a/2"]},
        {"type": "sbd", "from_code": "en", "to_code": "en", "links": ["https://a/sbd"]},
        {"from_code": "fr", "to_code": "en", "links": ["ipfs://Qm"]},  # no usable link
        {"from_code": "it", "to_code": "en", "links": ["https://a/3"], "checksum": "md5:1"},
        {"from_code": "../x", "to_code": "en", "links": ["https://a/4"]},
        "garbage",
    ]
    found = parse_index(json.dumps(entries).encode(), "https://a/index.json")
    assert list(found) == [("de", "en")]
    assert found[("de", "en")].version == "1.10"  # the newest, compared as numbers
    with pytest.raises(ModelError, match="not a JSON list"):
        parse_index(b'{"packages": []}', "https://a/index.json")


# -- listing and removing -------------------------------------------------------------------


def test_list_shows_installed_and_available(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    url = publish(index, packages)
    assert polynews(tmp_path, url, "models", "install", "en", "de").exit_code == 0
    result = polynews(tmp_path, url, "models", "list")
    assert result.exit_code == 0, result.output
    installed, available = result.stdout.split("available from")
    assert "en→de    argos    1.0" in installed and "translate-en_de" in installed
    assert " KB" in installed
    assert url in available
    assert "en→de    English → German" in available
    lines = {line.split()[0]: line for line in available.splitlines()[1:] if line.strip()}
    assert lines["en→de"].endswith("installed")
    assert not lines["de→en"].endswith("installed")
    assert len(lines) == 10


def test_list_as_json(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    url = publish(index, {d: packages[d] for d in [("en", "de"), ("de", "en")]})
    assert polynews(tmp_path, url, "models", "install", "en", "de").exit_code == 0
    data = json.loads(polynews(tmp_path, url, "models", "list", "--json").stdout)
    assert data["models_dir"] == str(tmp_path / "models")
    assert [(m["from"], m["to"], m["layout"], m["version"]) for m in data["installed"]] == [
        ("en", "de", "argos", "1.0")
    ]
    assert data["installed"][0]["bytes"] > 10_000
    assert data["index_url"] == url and data["index_error"] is None
    assert [(p["from"], p["to"], p["installed"]) for p in data["available"]] == [
        ("de", "en", ""),
        ("en", "de", "installed"),
    ]
    down = f"http://127.0.0.1:{_closed_port()}/index.json"
    data = json.loads(polynews(tmp_path, down, "models", "list", "--json").stdout)
    assert data["available"] is None and "cannot read the model index" in data["index_error"]


def test_remove(tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]) -> None:
    url = publish(index, packages)
    assert polynews(tmp_path, url, "models", "install", "de", "en").exit_code == 0
    removed = polynews(tmp_path, url, "models", "remove", "de", "en")
    assert removed.exit_code == 0, removed.output
    assert "removed de→en" in removed.stdout
    assert model_entries(tmp_path) == []
    engines = polynews(tmp_path, url, "engines")
    assert "| de | no engine |" in engines.stdout
    # an empty models directory is "not configured", not a backend failing every command
    assert "backend=ctranslate2" not in engines.stderr

    again = polynews(tmp_path, url, "models", "remove", "de", "en")
    assert again.exit_code == 1
    assert "no model for de→en" in again.stderr and "nothing removed" in again.stderr


def test_remove_a_dropped_in_argosmodel_file(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "translate-fr_en-1_0.argosmodel").write_bytes(build_package("fr", "en"))
    settings = defaults().replace(data_dir=tmp_path)
    assert ("fr", "en") in create(settings).directions()  # unpacked into the cache
    result = polynews(tmp_path, "http://127.0.0.1:9/index.json", "models", "remove", "fr", "en")
    assert result.exit_code == 0, result.output
    assert model_entries(tmp_path) == []
    assert list((tmp_path / "cache" / "ctranslate2").iterdir()) == []


def test_usage_errors() -> None:
    for args in (["install"], ["install", "de"], ["install", "de", "de"], ["install", "d1", "en"]):
        result = runner.invoke(app, ["models", *args])
        assert result.exit_code == 2, (args, result.output)
    result = runner.invoke(app, ["models", "install", "de", "en", "--site-languages"])
    assert result.exit_code == 2 and "not both" in result.output
    for bad in ("ftp://mirror.example/index.json", "index.json", "http://"):
        result = runner.invoke(app, ["--set", f"models_index_url={bad}", "models", "list"])
        assert result.exit_code == 2 and "models_index_url" in result.output, result.output


def test_site_languages_name_what_stays_uncovered(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    offered = {d: data for d, data in packages.items() if d != ("en", "uk")}
    url = publish(index, offered)
    result = polynews(tmp_path, url, "models", "install", "--site-languages")
    assert result.exit_code == 0, result.output
    assert "en→uk    not offered by the index, skipped" in result.stdout
    assert "9 installed, 0 failed, 1 skipped" in result.stdout
    assert "25 of 30 directions between the site languages covered" in result.stdout
    assert "not covered: en→uk, es→uk, de→uk, fr→uk, it→uk" in result.stdout


def test_site_languages_go_on_after_a_failed_package(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    entries = [index.index_entry(s, t, data) for (s, t), data in packages.items()]
    for entry in entries:
        if (entry["from_code"], entry["to_code"]) == ("en", "it"):
            index.files[entry["links"][0].removeprefix(index.url)] = corrupt(packages[("en", "it")])
    url = index.publish(entries)
    result = polynews(tmp_path, url, "models", "install", "--site-languages")
    assert result.exit_code == 1
    assert "en→it    FAILED: the en→it package from" in result.stdout
    assert "9 installed, 1 failed, 0 skipped" in result.stdout
    assert "translate-en_it" not in model_entries(tmp_path)
    assert len(model_entries(tmp_path)) == 9


def test_leftovers_of_an_interrupted_install_are_swept(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    models = tmp_path / "models"
    old = models / ".installing-crashed"
    (old / "unpacked").mkdir(parents=True)
    fresh = models / ".installing-running"  # another install, still at work
    fresh.mkdir()
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    url = publish(index, {("de", "en"): packages[("de", "en")]})
    assert polynews(tmp_path, url, "models", "install", "de", "en").exit_code == 0
    assert model_entries(tmp_path) == [".installing-running", "translate-de_en"]


def test_progress_bar_goes_to_stderr_on_a_terminal(
    tmp_path: Path,
    index: IndexServer,
    packages: dict[tuple[str, str], bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = publish(index, {("de", "en"): packages[("de", "en")]})
    settings = test_settings(tmp_path, models_index_url=url, ctranslate2_intra_threads=1)
    package = fetch_index(settings)[("de", "en")]
    with download_bars(enabled=True) as bars:
        report = install_packages(settings, [package], progress=bars)
    assert not report.failed
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "de→en" in captured.err and "kB" in captured.err


def test_articles_left_without_engine_are_translated_after_install(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    settings = test_settings(
        tmp_path, translation_backends=["ctranslate2"], ctranslate2_intra_threads=1
    )
    engine = open_store(settings)
    try:
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(
                articles.insert().values(
                    url="https://example.de/zug",
                    status="ready",
                    title="Der Zug nach Hamburg",
                    paragraphs=json.dumps(["Der Zug nach Hamburg fiel wegen eines Sturms aus."]),
                    language="de",
                    discovered_at=now,
                    updated_at=now,
                )
            )
        before = translate_pending(engine, Translator.from_settings(settings, engine), ["en", "uk"])
        assert before == {"en": {"no_engine": 1}, "uk": {"no_engine": 1}}

        url = publish(index, packages)
        assert polynews(tmp_path, url, "models", "install", "--site-languages").exit_code == 0

        after = translate_pending(engine, Translator.from_settings(settings, engine), ["en", "uk"])
        assert after == {"en": {"translated": 1}, "uk": {"translated": 1}}
        with engine.connect() as conn:
            rows = conn.execute(select(translations.c.lang, translations.c.engine)).all()
        assert sorted(rows) == [("en", "ctranslate2"), ("uk", "ctranslate2")]
    finally:
        engine.dispose()


def test_links_and_redirects_in_the_index_go_through_the_ssrf_guard(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    # only the index's own address is allowed; 127.0.0.2 is loopback too, but not allowed
    entry = index.index_entry("de", "en", packages[("de", "en")])
    port = index.url.rsplit(":", 1)[1]
    entry["links"] = [f"http://127.0.0.2:{port}/packages/x.argosmodel"]
    url = index.publish([entry])
    allow_one = ("--set", "allow_private_networks=127.0.0.1/32")
    result = polynews(tmp_path, url, *allow_one, "models", "install", "de", "en")
    assert_refused(result, tmp_path, "refused http://127.0.0.2", "allow_private_networks")

    index.faults["/packages/hop.argosmodel"] = ("redirect", entry["links"][0])
    entry["links"] = [f"{index.url}/packages/hop.argosmodel"]
    url = index.publish([entry])
    result = polynews(tmp_path, url, *allow_one, "models", "install", "de", "en")
    assert_refused(result, tmp_path, "refused http://127.0.0.2", "allow_private_networks")
    assert index.requests[-1] == "/packages/hop.argosmodel"  # the redirect was not followed


@pytest.mark.parametrize("name", ["../evil/metadata.json", "/tmp/evil.json"])
def test_members_outside_the_package_are_refused(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes], name: str
) -> None:
    data = io.BytesIO(packages[("de", "en")])
    with zipfile.ZipFile(data, "a") as zf:
        zf.writestr(name, "{}")
    url = index.publish([index.index_entry("de", "en", data.getvalue())])
    result = polynews(tmp_path, url, "models", "install", "de", "en")
    assert_refused(result, tmp_path, "has a member outside the package")
    assert not (tmp_path / "evil").exists()


def test_a_models_dir_the_operator_set_stays_after_removing_its_last_model(
    tmp_path: Path, index: IndexServer, packages: dict[tuple[str, str], bytes]
) -> None:
    url = publish(index, {("de", "en"): packages[("de", "en")]})
    elsewhere = tmp_path / "elsewhere"
    where = ("--set", f"models_dir={elsewhere}")
    assert polynews(tmp_path, url, *where, "models", "install", "de", "en").exit_code == 0
    assert [p.name for p in elsewhere.iterdir()] == ["translate-de_en"]
    assert polynews(tmp_path, url, *where, "models", "remove", "de", "en").exit_code == 0
    assert elsewhere.is_dir() and list(elsewhere.iterdir()) == []
    assert not (tmp_path / "models").exists()
