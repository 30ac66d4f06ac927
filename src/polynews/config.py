"""Settings: one table, read from defaults, ``polynews.toml``, ``POLYNEWS_*`` and flags.

Every setting is declared once in :data:`SETTINGS` with its type, default, help text,
secret flag and validator. Later sources override earlier ones:

1. the default in the table,
2. ``polynews.toml`` (``--config PATH``, else ``<data_dir>/polynews.toml``, else
   ``./polynews.toml``),
3. environment variables ``POLYNEWS_<NAME>`` (upper case),
4. command-line flags (``--data-dir``, ``--database-url``, ``--set NAME=VALUE``).
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polynews.errors import ConfigError

SITE_LANGUAGES = ("en", "es", "de", "fr", "it", "uk")


def _positive(value: Any) -> None:
    if value <= 0:
        raise ValueError("must be greater than zero")


def _non_negative(value: Any) -> None:
    if value < 0:
        raise ValueError("must not be negative")


def _fraction(value: Any) -> None:
    if not 0.0 < value <= 1.0:
        raise ValueError("must be in (0, 1]")


def _languages(value: Any) -> None:
    for code in value:
        if not (
            isinstance(code, str) and 2 <= len(code) <= 3 and code.isalpha() and code.islower()
        ):
            raise ValueError(f"{code!r} is not an ISO 639-1/3 language code such as 'en'")


def _networks(value: Any) -> None:
    for net in value:
        if net in ("all", "*"):
            continue
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError as exc:
            raise ValueError(f"{net!r} is not a network such as 127.0.0.0/8 ({exc})") from exc


def _host_names(value: Any) -> None:
    for entry in value:
        if entry != "*" and (not entry or any(c in entry for c in " \t/\\@?#")):
            raise ValueError(f"{entry!r} is not a host name such as news.example.org")


def _log_level(value: Any) -> None:
    if str(value).upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")


def _log_format(value: Any) -> None:
    if value not in ("text", "json"):
        raise ValueError("must be 'text' or 'json'")


def _time_zone(value: Any) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"{value!r} is not an IANA time zone such as 'UTC' or 'Europe/Paris'"
        ) from exc


@dataclass(frozen=True)
class Setting:
    """One row of the settings table."""

    name: str
    type: type
    default: Any
    help: str
    secret: bool = False
    validate: Callable[[Any], None] | None = None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "data_dir",
        Path,
        Path("polynews-data"),
        "Directory holding the SQLite file, raw archive and models.",
    ),
    Setting(
        "database_url",
        str,
        "",
        "SQLAlchemy URL of the database; empty means SQLite at <data_dir>/polynews.db. "
        "Use postgresql+psycopg://user:pass@host/db for PostgreSQL.",
        secret=True,
    ),
    Setting(
        "user_agent",
        str,
        "polynews/0.1 (+https://example.org/polynews)",
        "User-Agent sent with every request.",
    ),
    Setting(
        "allow_private_networks",
        list,
        [],
        "Networks (CIDR) the SSRF guard lets through, e.g. 127.0.0.0/8 for a local test server; "
        "'all' disables the guard. Empty: private, loopback, link-local, multicast and reserved "
        "addresses are refused.",
        validate=_networks,
    ),
    Setting(
        "fetch_concurrency",
        int,
        16,
        "Requests in flight at once, all hosts together.",
        validate=_positive,
    ),
    Setting(
        "per_host_concurrency",
        int,
        2,
        "Requests in flight at once to one host.",
        validate=_positive,
    ),
    Setting(
        "per_host_delay",
        float,
        1.0,
        "Seconds between two requests to the same host.",
        validate=_non_negative,
    ),
    Setting("connect_timeout", float, 10.0, "Seconds allowed to connect.", validate=_positive),
    Setting("read_timeout", float, 20.0, "Seconds allowed between two reads.", validate=_positive),
    Setting(
        "total_timeout",
        float,
        60.0,
        "Seconds allowed for a whole request, body included.",
        validate=_positive,
    ),
    Setting(
        "max_body_bytes",
        int,
        5_000_000,
        "Largest response body accepted, as sent on the wire.",
        validate=_positive,
    ),
    Setting(
        "max_decompressed_bytes",
        int,
        20_000_000,
        "Largest response body accepted after gzip/deflate/brotli decoding.",
        validate=_positive,
    ),
    Setting(
        "max_redirects", int, 5, "Redirects followed before giving up.", validate=_non_negative
    ),
    Setting(
        "retries", int, 3, "Retries after a 429, a 5xx or a network error.", validate=_non_negative
    ),
    Setting(
        "retry_backoff",
        float,
        1.0,
        "First retry delay in seconds; doubles each time.",
        validate=_non_negative,
    ),
    Setting(
        "retry_after_max",
        float,
        300.0,
        "Longest Retry-After honoured, in seconds.",
        validate=_non_negative,
    ),
    Setting("respect_robots", bool, True, "Honour robots.txt."),
    Setting(
        "poll_interval",
        int,
        900,
        "Default seconds between two fetches of a source.",
        validate=_positive,
    ),
    Setting(
        "languages",
        list,
        list(SITE_LANGUAGES),
        "Site languages, in switcher order.",
        validate=_languages,
    ),
    Setting(
        "detect_languages",
        list,
        ["en", "es", "de", "fr", "it", "uk", "ru", "pt", "nl", "pl"],
        "Candidate languages for detection; a small set is faster and more accurate.",
        validate=_languages,
    ),
    Setting(
        "near_duplicate_threshold",
        float,
        0.4,
        "Estimated Jaccard similarity of word 5-gram shingles above which two articles are copies.",
        validate=_fraction,
    ),
    Setting(
        "translate",
        bool,
        True,
        "Translate published articles into every site language during ingest.",
    ),
    Setting(
        "workers", int, 2, "Worker processes for CPU-bound stages (extraction).", validate=_positive
    ),
    Setting(
        "log_level", str, "INFO", "Logging level: DEBUG, INFO, WARNING, ERROR.", validate=_log_level
    ),
    Setting("log_format", str, "text", "Log format on stderr: text or json.", validate=_log_format),
    Setting(
        "api_token",
        str,
        "",
        "Token required by write endpoints of the API; empty disables them.",
        secret=True,
    ),
    Setting(
        "translation_backends",
        list,
        ["ctranslate2", "libretranslate", "openai", "apertium"],
        "Translation backends to load, in order of preference between engines of the same kind; "
        "a backend left out of the list is never used.",
    ),
    Setting(
        "translation_pivots",
        list,
        ["es", "ca", "en"],
        "Languages a translation may go through when no engine covers a direction directly, "
        "tried in this order unless translation_pivot_preferences says otherwise.",
        validate=_languages,
    ),
    Setting(
        "translation_pivot_preferences",
        list,
        [],
        "Per-direction pivot choices overriding the built-in table, as 'src-tgt:pivot' "
        "(e.g. 'fr-en:ca'); 'src-tgt:' forbids pivots for that direction.",
    ),
    Setting(
        "translation_timeout",
        float,
        600.0,
        "Seconds allowed for one translation batch.",
        validate=_positive,
    ),
    Setting(
        "apertium_binary", str, "apertium", "The apertium command (name on PATH or full path)."
    ),
    Setting(
        "models_dir",
        str,
        "",
        "Directory of CTranslate2 models: OPUS-MT converted directories (opus-mt-de-en/) and "
        "Argos Translate .argosmodel packages; empty means <data_dir>/models.",
    ),
    Setting("ctranslate2_device", str, "cpu", "Device for CTranslate2 models: cpu, cuda or auto."),
    Setting(
        "ctranslate2_compute_type",
        str,
        "int8",
        "CTranslate2 computation type: default, auto, int8, int8_float32, int16, float16, float32.",
    ),
    Setting(
        "ctranslate2_inter_threads",
        int,
        1,
        "Batches one CTranslate2 model translates in parallel.",
        validate=_positive,
    ),
    Setting(
        "ctranslate2_intra_threads",
        int,
        0,
        "Threads per CTranslate2 batch; 0 uses every core.",
        validate=_non_negative,
    ),
    Setting(
        "ctranslate2_beam_size", int, 2, "Beam size of CTranslate2 decoding.", validate=_positive
    ),
    Setting(
        "ctranslate2_batch_size", int, 32, "Sentences per CTranslate2 batch.", validate=_positive
    ),
    Setting(
        "ctranslate2_max_loaded",
        int,
        4,
        "CTranslate2 models kept in memory at once; the least recently used is unloaded.",
        validate=_positive,
    ),
    Setting(
        "libretranslate_url",
        str,
        "",
        "Base URL of a LibreTranslate-compatible server, e.g. http://127.0.0.1:5000; "
        "empty disables the libretranslate backend.",
    ),
    Setting(
        "libretranslate_api_key", str, "", "API key sent to the LibreTranslate server.", secret=True
    ),
    Setting(
        "openai_base_url",
        str,
        "",
        "Base URL of an OpenAI-compatible API, up to /v1 (e.g. http://127.0.0.1:11434/v1 for "
        "Ollama); empty disables the openai backend.",
    ),
    Setting("openai_model", str, "", "Model name sent to the OpenAI-compatible API."),
    Setting("openai_api_key", str, "", "Bearer token for the OpenAI-compatible API.", secret=True),
    Setting(
        "openai_directions",
        list,
        [],
        "Directions the openai backend offers, as 'src-tgt' (e.g. 'de-en,en-uk'); empty means "
        "every pair among the site languages.",
    ),
    Setting(
        "openai_max_chars",
        int,
        6000,
        "Source characters sent in one chat request; longer batches are split.",
        validate=_positive,
    ),
    Setting("site_title", str, "polynews", "Name of the site, shown in page titles and feeds."),
    Setting(
        "base_url",
        str,
        "",
        "Public URL of the site (e.g. https://news.example.org), used in feeds, sitemaps and "
        "canonical links; empty means the address the request came to.",
    ),
    Setting(
        "page_size", int, 20, "Articles per page on lists, feeds and the API.", validate=_positive
    ),
    Setting(
        "time_zone",
        str,
        "UTC",
        "Time zone (IANA name such as Europe/Paris) in which pages show times; pages say which.",
        validate=_time_zone,
    ),
    Setting(
        "search_rate_limit",
        float,
        2.0,
        "Searches per second one client IP may make on average (token bucket refill rate).",
        validate=_positive,
    ),
    Setting(
        "search_rate_burst",
        int,
        20,
        "Searches one client IP may make in a burst before search_rate_limit applies.",
        validate=_positive,
    ),
    Setting(
        "web_workers",
        int,
        2,
        "Server processes of `polynews serve`; one per core suits a read-mostly site.",
        validate=_positive,
    ),
    Setting(
        "allowed_hosts",
        list,
        [],
        "Host names the site answers to (the Host header), e.g. news.example.org or "
        "news.example.org:8443 (that port only); a leading dot (.example.org) also allows "
        "subdomains. Any other Host gets 400 and never reaches the page cache. Empty: the "
        "host of base_url when set, else localhost, 127.0.0.1 and ::1. '*' allows any Host: "
        "unsafe with base_url empty, as one request could then put its host name into the "
        "cached links every visitor gets.",
        validate=_host_names,
    ),
    Setting(
        "apertium_processes",
        int,
        0,
        "Apertium pipelines one large translation batch is split across (at paragraph "
        "boundaries), run at the same time; 0 means one per two CPU cores, as one pipeline "
        "of Apertium processes already keeps about 1.5 cores busy.",
        validate=_non_negative,
    ),
    Setting(
        "max_new_entries_per_source",
        int,
        500,
        "New entries taken from one feed or sitemap per pass, newest first, and pages "
        "fetched for one source per pass; the rest are taken on the next passes (the source "
        "is read again at once), so one huge source cannot hold back the others.",
        validate=_positive,
    ),
    Setting(
        "translation_time_budget",
        float,
        300.0,
        "Seconds one pass may spend translating; what is left waits for the next pass, so a "
        "slow or dead translation engine never holds back fetching or publication.",
        validate=_positive,
    ),
)

SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def register(setting: Setting) -> None:
    """Add a setting (used by extensions such as translation backends) to the table."""
    global SETTINGS
    if setting.name in SETTINGS_BY_NAME:
        raise ConfigError(f"setting {setting.name!r} is declared twice")
    SETTINGS = (*SETTINGS, setting)
    SETTINGS_BY_NAME[setting.name] = setting


@dataclass(frozen=True)
class Settings:
    """The effective settings: a value for every row of :data:`SETTINGS`."""

    values: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"Settings({self.redacted()!r})"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "values":
            raise AttributeError(name)  # copy and pickle probe dunders before __init__
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(f"no setting named {name!r}") from None

    @property
    def database(self) -> str:
        """The database URL, defaulting to SQLite inside the data directory."""
        url: str = self.values["database_url"]
        if url:
            return url
        return f"sqlite:///{Path(self.values['data_dir']).resolve() / 'polynews.db'}"

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with some values changed (and validated)."""
        merged = dict(self.values)
        for name, raw in changes.items():
            merged[name] = coerce(name, raw)
        return Settings(merged)

    def redacted(self) -> dict[str, Any]:
        """Values fit for printing: secrets replaced by '***' when set."""
        out: dict[str, Any] = {}
        for s in SETTINGS:
            value = self.values[s.name]
            if s.secret and value:
                value = "***"
            out[s.name] = str(value) if isinstance(value, Path) else value
        return out


def coerce(name: str, raw: Any) -> Any:
    """Convert ``raw`` (from TOML, environment or a flag) to the setting's type; validate it."""
    setting = SETTINGS_BY_NAME.get(name)
    if setting is None:
        known = ", ".join(sorted(SETTINGS_BY_NAME))
        raise ConfigError(f"unknown setting {name!r}; known settings: {known}")
    try:
        value = _convert(setting.type, raw)
        if setting.validate is not None:
            setting.validate(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: invalid value {raw!r}: {exc}") from exc
    return value


def _convert(kind: type, raw: Any) -> Any:
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ValueError("expected true or false")
    if kind is list:
        if isinstance(raw, str):
            return [part.strip() for part in raw.split(",") if part.strip()]
        if isinstance(raw, list | tuple):
            return [str(part) for part in raw]
        raise ValueError("expected a list or a comma-separated string")
    if kind is Path:
        return Path(str(raw))
    if kind is int and isinstance(raw, float):
        raise ValueError("expected an integer")
    return kind(raw)


def load_settings(
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the effective settings from defaults, the TOML file, the environment and flags."""
    env = os.environ if environ is None else environ
    flags = dict(overrides or {})
    values: dict[str, Any] = {s.name: _copy(s.default) for s in SETTINGS}

    env_values = {
        s.name: env[f"POLYNEWS_{s.name.upper()}"]
        for s in SETTINGS
        if f"POLYNEWS_{s.name.upper()}" in env
    }
    # The data directory decides where polynews.toml is looked for, so settle it first.
    data_dir = Path(str(flags.get("data_dir", env_values.get("data_dir", values["data_dir"]))))
    path = config_file
    if path is None:
        for candidate in (data_dir / "polynews.toml", Path("polynews.toml")):
            if candidate.is_file():
                path = candidate
                break
    if path is not None:
        for name, raw in _read_toml(path).items():
            values[name] = coerce(name, raw)
    for name, raw in env_values.items():
        values[name] = coerce(name, raw)
    for name, raw in flags.items():
        if raw is not None:
            values[name] = coerce(name, raw)
    return Settings(values)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    section = data.get("polynews", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [polynews] must be a table")
    return section


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def settings_table() -> str:
    """Every setting as a markdown table: name, type, default, help."""
    rows = ["| setting | type | default | what it does |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = ",".join(s.default) if isinstance(s.default, list) else str(s.default)
        default = f"`{default}`" if default else "(empty)"
        kind = s.type.__name__ + (" (secret)" if s.secret else "")
        rows.append(f"| `{s.name}` | {kind} | {default} | {s.help} |")
    return "\n".join(rows)


def defaults() -> Settings:
    """Settings with every value at its default (no file, no environment)."""
    return load_settings(environ={}, config_file=None)


__all__ = [
    "SETTINGS",
    "SITE_LANGUAGES",
    "Setting",
    "Settings",
    "coerce",
    "defaults",
    "load_settings",
    "register",
]
