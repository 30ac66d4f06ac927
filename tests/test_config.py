"""Settings: the table, precedence (defaults < file < environment < flags), validation, docs."""

from __future__ import annotations

from pathlib import Path

import pytest

from polynews.config import SETTINGS, coerce, load_settings, settings_table
from polynews.errors import ConfigError


def test_defaults_cover_every_setting() -> None:
    settings = load_settings(environ={}, config_file=None)
    for s in SETTINGS:
        assert getattr(settings, s.name) == s.default
    assert settings.languages == ["en", "es", "de", "fr", "it", "uk"]
    assert settings.max_body_bytes == 5_000_000
    assert settings.allow_private_networks == []


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


def test_list_and_bool_from_environment() -> None:
    env = {
        "POLYNEWS_LANGUAGES": "en, fr",
        "POLYNEWS_RESPECT_ROBOTS": "no",
        "POLYNEWS_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8,::1/128",
    }
    settings = load_settings(environ=env, config_file=None)
    assert settings.languages == ["en", "fr"]
    assert settings.respect_robots is False
    assert settings.allow_private_networks == ["127.0.0.0/8", "::1/128"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("workers", "0", "must be greater than zero"),
        ("workers", "two", "invalid literal"),
        ("languages", "english", "not an ISO 639"),
        ("allow_private_networks", "10.0.0.0/33", "is not a network"),
        ("respect_robots", "maybe", "expected true or false"),
        ("log_format", "xml", "must be 'text' or 'json'"),
        ("near_duplicate_threshold", "1.5", "must be in"),
        ("no_such_setting", "1", "unknown setting 'no_such_setting'"),
    ],
)
def test_invalid_values_are_refused_clearly(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        coerce(name, value)


def test_broken_toml_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "polynews.toml"
    bad.write_text("workers = = 3\n", "utf-8")
    with pytest.raises(ConfigError, match="is not valid TOML"):
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


def test_every_setting_is_documented() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text("utf-8")
    start = readme.index("<!-- settings:start -->") + len("<!-- settings:start -->")
    end = readme.index("<!-- settings:end -->")
    assert readme[start:end].strip() == settings_table(), (
        "the settings table in README.md is out of date; regenerate it with "
        "`polynews config --markdown`"
    )
