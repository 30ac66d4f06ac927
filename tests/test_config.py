"""Settings: the typed table, precedence (defaults < file < environment < flags), validation."""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import test_settings

import polynews
from polynews.config import (
    SETTINGS,
    Settings,
    coerce,
    defaults,
    load_settings,
    settings_table,
)
from polynews.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_cover_every_setting() -> None:
    settings = load_settings(environ={}, config_file=None)
    for s in SETTINGS:
        assert getattr(settings, s.name) == s.default
    assert settings.languages == ("en", "es", "de", "fr", "it", "uk")
    assert settings.max_body_bytes == 5_000_000
    assert settings.allow_private_networks == ()
    assert settings == defaults()


def test_the_table_is_the_dataclass() -> None:
    names = [f.name for f in dataclasses.fields(Settings)]
    assert [s.name for s in SETTINGS] == names
    assert all(s.help.strip() for s in SETTINGS)
    types = {s.name: s.type_name for s in SETTINGS}
    assert (types["workers"], types["per_host_delay"], types["respect_robots"]) == (
        "int",
        "float",
        "bool",
    )
    assert (types["languages"], types["data_dir"], types["api_token"]) == ("list", "Path", "str")


def test_settings_are_frozen_and_have_no_dynamic_names() -> None:
    settings = defaults()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.workers = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        _ = settings.wokers  # type: ignore[attr-defined]
    changed = settings.replace(workers="3", languages="en,fr", per_host_delay=2)
    assert (changed.workers, changed.languages, changed.per_host_delay) == (3, ("en", "fr"), 2.0)
    assert isinstance(changed.per_host_delay, float)
    assert settings.workers == 2  # the original is untouched
    with pytest.raises(ConfigError, match="unknown setting 'wokers'"):
        settings.replace(wokers=3)
    with pytest.raises(ConfigError, match="must be greater than zero"):
        Settings(workers=0)  # every way of building settings validates


def test_mypy_catches_a_misspelt_name_and_a_wrong_type(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from polynews.config import defaults\n"
        "s = defaults()\n"
        "n: int = s.wokers\n"
        "t: str = s.workers\n"
        "ok: int = s.workers\n",
        "utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent",
         str(probe)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={"MYPYPATH": str(Path(polynews.__file__).parents[1]), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert 'has no attribute "wokers"' in done.stdout, done.stdout + done.stderr
    assert 'expression has type "int", variable has type "str"' in done.stdout, done.stdout
    assert "probe.py:5" not in done.stdout
    assert done.stdout.count("error:") == 2, done.stdout


def test_precedence_file_env_flags(tmp_path: Path) -> None:
    config = tmp_path / "polynews.toml"
    config.write_text(
        '[polynews]\nper_host_delay = 2.5\nworkers = 3\nuser_agent = "from-file"\n', "utf-8"
    )
    env = {"POLYNEWS_WORKERS": "4", "POLYNEWS_USER_AGENT": "from-env"}
    settings = load_settings(config_file=config, environ=env, overrides={"user_agent": "flag"})
    assert settings.per_host_delay == 2.5  # file
    assert settings.workers == 4  # environment beats file
    assert settings.user_agent == "flag"  # flag beats environment


def test_toml_in_data_dir_is_found(tmp_path: Path) -> None:
    (tmp_path / "polynews.toml").write_text("retries = 7\n", "utf-8")
    settings = load_settings(environ={}, overrides={"data_dir": tmp_path})
    assert settings.retries == 7


def test_a_polynews_toml_in_the_working_directory_never_reaches_test_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("polynews.toml").write_text('workers = 7\nlog_format = "json"\n', "utf-8")
    assert load_settings(environ={}).workers == 7  # the documented lookup still works ...
    assert defaults().workers == 2  # ... but the defaults read no file
    assert defaults().log_format == "text"
    assert test_settings(tmp_path / "data").workers == 1


def test_tests_start_in_an_empty_directory_without_polynews_variables() -> None:
    assert not Path("polynews.toml").exists()
    assert Path.cwd() != ROOT
    assert "POLYNEWS_WORKERS" not in os.environ


def test_list_and_bool_from_environment() -> None:
    env = {
        "POLYNEWS_LANGUAGES": "en, fr",
        "POLYNEWS_RESPECT_ROBOTS": "no",
        "POLYNEWS_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8,::1/128",
    }
    settings = load_settings(environ=env, config_file=None)
    assert settings.languages == ("en", "fr")
    assert settings.respect_robots is False
    assert settings.allow_private_networks == ("127.0.0.0/8", "::1/128")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("workers", "0", "must be greater than zero"),
        ("workers", "two", "invalid literal"),
        ("workers", True, "expected an integer"),
        ("languages", "english", "not an ISO 639"),
        ("languages", "en,fr,en", "'en' is listed twice"),
        ("detect_languages", ["de", "de"], "'de' is listed twice"),
        ("allow_private_networks", "10.0.0.0/33", "is not a network"),
        ("respect_robots", "maybe", "expected true or false"),
        ("log_format", "xml", "must be 'text' or 'json'"),
        ("near_duplicate_threshold", "1.5", "must be in"),
        ("near_duplicate_threshold", "nan", "must be a finite number"),
        ("per_host_delay", "inf", "must be a finite number"),
        ("total_timeout", float("inf"), "must be a finite number"),
        ("search_rate_limit", "-inf", "must be a finite number"),
        ("retry_backoff", float("nan"), "must be a finite number"),
        ("base_url", "javascript:alert(1)", "not an absolute http"),
        ("base_url", "ftp://news.example.org", "not an absolute http"),
        ("base_url", "news.example.org", "not an absolute http"),
        ("base_url", "https://", "not an absolute http"),
        ("base_url", "https://news.example.org/?utm=1", "query or fragment"),
        ("base_url", "https://news.example.org/#top", "query or fragment"),
        ("base_url", "https://user:pw@news.example.org", "user name or password"),
        ("base_url", "https://news.example.org:99999", "invalid port"),
        ("base_url", "https://news.example.org /x", "white space"),
        ("no_such_setting", "1", "unknown setting 'no_such_setting'"),
    ],
)
def test_invalid_values_are_refused_clearly(name: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        coerce(name, value)


@pytest.mark.parametrize(
    "url", ["", "https://news.example.org", "http://127.0.0.1:8000/", "https://example.org/news/"]
)
def test_good_base_urls_are_accepted(url: str) -> None:
    assert defaults().replace(base_url=url).base_url == url


def test_nan_in_a_toml_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "polynews.toml"
    config.write_text("per_host_delay = nan\n", "utf-8")
    with pytest.raises(ConfigError, match=r"'per_host_delay'.*finite"):
        load_settings(config_file=config, environ={})


@pytest.mark.parametrize("networks", ["0.0.0.0/0", "::/0", "all", "127.0.0.0/8,0.0.0.0/0"])
def test_opening_every_network_is_warned_about(
    networks: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="polynews.config"):
        load_settings(environ={"POLYNEWS_ALLOW_PRIVATE_NETWORKS": networks})
    assert ["the SSRF guard is off" in r.getMessage() for r in caplog.records] == [True]


def test_a_narrow_network_is_not_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="polynews.config"):
        load_settings(environ={"POLYNEWS_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8,10.0.0.0/8"})
    assert caplog.records == []


def test_broken_toml_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "polynews.toml"
    bad.write_text("workers = = 3\n", "utf-8")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_settings(config_file=bad, environ={})


def test_a_config_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "polynews.toml"
    bad.write_bytes('site_title = "Nouvelles de la cité"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_settings(config_file=bad, environ={})


def test_secrets_are_redacted() -> None:
    settings = load_settings(
        environ={"POLYNEWS_DATABASE_URL": "postgresql://u:pw@h/db", "POLYNEWS_API_TOKEN": "t0k"},
        config_file=None,
    )
    shown = settings.redacted()
    assert shown["database_url"] == "***"
    assert shown["api_token"] == "***"
    assert "pw" not in repr(shown) and "t0k" not in repr(shown)
    assert "pw@" not in repr(settings) and "t0k" not in repr(settings)
    assert settings.plain()["api_token"] == "t0k"  # for the server workers' private file


def test_plain_values_rebuild_the_same_settings(tmp_path: Path) -> None:
    settings = test_settings(tmp_path, languages=["fr", "en"], api_token="x")
    assert defaults().replace(**settings.plain()) == settings


def test_every_setting_is_documented() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    start = readme.index("<!-- settings:start -->") + len("<!-- settings:start -->")
    end = readme.index("<!-- settings:end -->")
    assert readme[start:end].strip() == settings_table(), (
        "the settings table in README.md is out of date; regenerate it with "
        "`polynews config --markdown`"
    )
