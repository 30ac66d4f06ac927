"""A new user's first commands: options anywhere, quiet engines, fetch output, stats table."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import DemoRun
from typer.testing import CliRunner

from polynews.cli import app
from polynews.config import Settings
from polynews.demo import DemoServer, demo_sources

runner = CliRunner()
CLI = [sys.executable, "-m", "polynews.cli"]


def _config(args: list[str]) -> dict[str, str]:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return dict(line.split(" = ", 1) for line in result.output.splitlines())


# -- global options after the subcommand ---------------------------------------------------


def test_global_options_work_after_the_command_as_before_it(tmp_path: Path) -> None:
    toml = tmp_path / "polynews.toml"
    toml.write_text("per_host_delay = 4.5\n", "utf-8")
    options = [
        "--data-dir", str(tmp_path / "d"), "--database-url", "sqlite:///" + str(tmp_path / "x.db"),
        "--config", str(toml), "--set", "workers=3", "--set", "retries=5", "--log-level", "DEBUG",
    ]  # fmt: skip
    before = _config([*options, "config"])
    after = _config(["config", *options])
    assert after == before
    assert after["data_dir"] == json.dumps(str(tmp_path / "d"))
    assert after["workers"] == "3" and after["retries"] == "5"
    assert after["per_host_delay"] == "4.5" and after["log_level"] == '"DEBUG"'
    assert after["database_url"] == '"***"'  # set (it is secret, so redacted)
    assert _config(["config"])["database_url"] == '""'
    # the NAME=VALUE form, and a later value beats an earlier one as usual
    mixed = _config(["--data-dir", str(tmp_path / "a"), "config", f"--data-dir={tmp_path / 'b'}"])
    assert mixed["data_dir"] == json.dumps(str(tmp_path / "b"))


def test_a_bad_global_option_after_the_command_is_still_reported(tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "--data-dir", str(tmp_path), "--set", "workers=zero"])
    assert result.exit_code == 2
    assert "setting 'workers': invalid value 'zero'" in result.output


def test_a_global_option_after_the_command_needs_its_value(tmp_path: Path) -> None:
    result = runner.invoke(app, ["stats", "--data-dir"])
    assert result.exit_code == 2
    assert "--data-dir" in result.output and "a value is required" in result.output
    assert "Missing command" not in result.output


def test_subcommand_options_keep_their_values(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    # --name takes a value: "--set" here is the name, not a global option
    added = runner.invoke(
        app,
        ["sources", "add", "https://one.example/feed.xml", "--data-dir", data,
         "--name", "--set", "--language", "fr", "--no-conditional-get"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["sources", "list", "--json", "--data-dir", data])
    assert listed.exit_code == 0, listed.output
    sources = json.loads(listed.output)
    assert [(s["name"], s["language"], s["conditional_get"]) for s in sources] == [
        ("--set", "fr", False)
    ]
    # nested groups: the global option after `sources remove 1` reaches the root
    removed = runner.invoke(app, ["sources", "remove", "1", "--data-dir", data])
    assert removed.exit_code == 0, removed.output
    # nothing after `--` moves: it is an argument of the command, which takes none
    rest = runner.invoke(app, ["sources", "list", "--", "--data-dir", data])
    assert rest.exit_code == 2 and "unexpected extra argument" in rest.output


def test_demo_takes_data_dir_after_the_command(tmp_path: Path) -> None:
    """``polynews demo --data-dir X`` (and so ``scripts/demo --data-dir X``) reaches the demo.

    The directory holds a file the demo did not make: the demo refuses it, which shows the
    option arrived without running the whole demo.
    """
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine", "utf-8")
    result = runner.invoke(app, ["demo", "--data-dir", str(precious), "--once"])
    assert result.exit_code == 1, result.output
    assert "did not create" in result.output
    assert (precious / "notes.txt").read_text("utf-8") == "mine"


# -- translation engines -------------------------------------------------------------------


def test_unconfigured_engines_are_one_debug_line_and_engines_says_how_to_add_one(
    tmp_path: Path,
) -> None:
    cmd = [*CLI, "engines", "--data-dir", str(tmp_path)]
    quiet = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0, quiet.stderr
    assert "WARNING" not in quiet.stderr and "backend off" not in quiet.stderr, quiet.stderr
    assert "To add an engine" in quiet.stdout
    for name in ("models_dir", str(tmp_path / "models"), "libretranslate_url", "openai_base_url"):
        assert name in quiet.stdout
    debug = subprocess.run([*cmd, "--log-level", "DEBUG"], capture_output=True, text=True)
    lines = [line for line in debug.stderr.splitlines() if "not configured" in line]
    assert len(lines) == 1, debug.stderr
    assert "backends=ctranslate2,libretranslate,openai" in lines[0]


def test_a_configured_engine_that_fails_still_warns(tmp_path: Path) -> None:
    """A server that is set but down, and a models directory with no model, are faults."""
    (tmp_path / "models").mkdir()
    done = subprocess.run(
        [*CLI, "engines", "--data-dir", str(tmp_path),
         "--set", "libretranslate_url=http://127.0.0.1:9", "--set", "connect_timeout=2"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "backend off" in line]
    assert any("backend=libretranslate" in line for line in warnings), done.stderr
    assert any("backend=ctranslate2" in line for line in warnings), done.stderr
    assert not any("backend=openai" in line for line in warnings), done.stderr


# -- fetch and stats -----------------------------------------------------------------------


def _db_options(settings: Settings) -> list[str]:
    options = ["--data-dir", str(settings.data_dir)]
    if settings.database_url:
        options += ["--database-url", settings.database_url]
    return options


def test_fetch_prints_its_summary_on_stdout_and_logs_on_stderr(db_settings: Settings) -> None:
    db = _db_options(db_settings)
    with DemoServer() as server:
        feed = next(s for s in demo_sources(server.base_url) if s.url.endswith("feed.xml"))
        added = subprocess.run(
            [*CLI, "sources", "add", feed.url, *db], capture_output=True, text=True, check=True
        )
        assert added.stdout.startswith("added source 1")
        done = subprocess.run(
            [*CLI, "fetch", *db, "--log-level", "INFO",
             "--set", "allow_private_networks=127.0.0.0/8", "--set", "per_host_delay=0",
             "--set", "translate=false", "--set", "stories=false"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = re.fullmatch(
        r"1 sources fetched \(0 failed\), (\d+) new article URLs, (\d+) pages fetched .*\n",
        done.stdout,
    )
    assert summary, done.stdout
    assert int(summary[2]) > 0
    assert "sources fetched" not in done.stderr
    assert " INFO " in done.stderr or '"INFO"' in done.stderr, done.stderr[-2000:]

    as_json = subprocess.run([*CLI, "stats", "--json", *db], capture_output=True, text=True)
    data = json.loads(as_json.stdout)
    table = subprocess.run([*CLI, "stats", *db], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^sources +1 +\(0 with errors\)$", table, re.M), table
    assert re.search(rf"^articles +{data['articles']} +published$", table, re.M), table
    assert re.search(rf"^duplicates +{data['duplicates']} ", table, re.M), table
    assert re.search(r"^ +en +" + str(data["by_language"]["en"]) + "$", table, re.M), table
    assert "translations by target language and status\n  none yet" in table


def test_stats_prints_a_table_and_json_as_before(demo_once: DemoRun) -> None:
    done = demo_once.done
    assert done.returncode == 0, done.stderr[-3000:]
    db = ["--data-dir", str(demo_once.data_dir)]
    data = json.loads(
        subprocess.run([*CLI, "stats", "--json", *db], capture_output=True, text=True).stdout
    )
    assert set(data) == {
        "sources", "articles", "duplicates", "errors", "sources_with_errors", "by_language",
        "by_status", "translations", "stories", "claims",
    }  # fmt: skip
    table = subprocess.run([*CLI, "stats", *db], capture_output=True, text=True, check=True).stdout
    assert "{" not in table and "}" not in table  # no Python dicts printed as such
    stories = data["stories"]
    assert re.search(
        rf"^stories +{stories['count']} +\({stories['multi_outlet']} reported by more than one",
        table,
        re.M,
    )
    assert re.search(rf"^claims +{data['claims']}$", table, re.M)
    assert re.search(rf"^errors +{data['errors']} ", table, re.M)
    for lang, n in data["by_language"].items():
        assert re.search(rf"^  {lang} +{n}$", table, re.M), (lang, table)
    section = table.split("translations by target language and status\n", 1)[1]
    header, *rows = section.splitlines()
    statuses = header.split()[1:-1]
    assert header.split()[0] == "language" and header.split()[-1] == "total"
    assert set(statuses) == {s for counts in data["translations"].values() for s in counts}
    for lang, counts in data["translations"].items():
        row = next(r.split() for r in rows if r.split()[0] == lang)
        assert row[1:] == [*(str(counts.get(s, 0)) for s in statuses), str(sum(counts.values()))]


@pytest.mark.parametrize("command", [["fetch"], ["stats"], ["engines"], ["demo"]])
def test_help_of_a_command_still_works_with_global_options_after_it(
    command: list[str], tmp_path: Path
) -> None:
    result = runner.invoke(app, [*command, "--data-dir", str(tmp_path), "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
