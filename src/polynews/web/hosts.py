"""Which ``Host`` headers the site answers to.

With ``base_url`` empty, links in pages, feeds and sitemaps are built from the address a
request came to, and those answers are cached for every later visitor: one request with
a made-up ``Host`` would repoint the site. So the site answers only the hosts of
``allowed_hosts`` (by default the host of ``base_url``, else the loopback names) and
refuses any other with 400 before the cache or the app sees the request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from polynews.config import Settings
from polynews.errors import ConfigError

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
"""The default when neither ``allowed_hosts`` nor ``base_url`` is set."""

ANY_HOST = "*"


def split_host(value: str) -> tuple[str, int | None] | None:
    """``(host, port)`` of a Host header or an allowed_hosts entry; None when malformed.

    The host is lower-cased without a trailing dot; an IPv6 literal is given without its
    brackets (``[::1]:8000`` -> ``("::1", 8000)``; a bare ``::1`` is a host, no port).
    """
    text = value.strip().lower()
    port_text = ""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:]
        if rest and not port_text:
            return None
    elif text.count(":") > 1:
        host = text  # an unbracketed IPv6 address (allowed_hosts entries only)
    else:
        host, colon, port_text = text.partition(":")
        if colon and not port_text:
            return None
    host = host.rstrip(".") if host != "." else ""
    if not host or any(c in host for c in "/\\@?#[] \t") or not host.isprintable():
        return None
    if not port_text:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return host, int(port_text)


def check_entry(entry: str) -> None:
    """ValueError when ``entry`` cannot be an allowed_hosts entry."""
    if entry == ANY_HOST:
        return
    if split_host(entry.removeprefix(".")) is None:
        raise ValueError(
            f"{entry!r} is not a host name such as news.example.org, news.example.org:8443, "
            "[::1] or .example.org (that domain and its subdomains)"
        )


@dataclass(frozen=True)
class AllowedHosts:
    """The Host values the site answers to.

    An entry without a port allows the host on any port; with one, only on that port.
    An entry with a leading dot allows the domain and every subdomain. ``*`` allows any
    Host (unsafe unless ``base_url`` is set or a proxy in front checks the Host).
    """

    entries: tuple[tuple[str, int | None], ...]
    any_host: bool = False

    @classmethod
    def build(cls, allowed: Iterable[str], base_url: str = "") -> AllowedHosts:
        """The rule for the allowed_hosts setting; empty falls back to base_url or loopback."""
        given = [entry.strip() for entry in allowed if entry.strip()]
        if not given:
            host = urlsplit(base_url).hostname if base_url else None
            given = [host] if host else list(LOOPBACK_HOSTS)
        if ANY_HOST in given:
            return cls((), any_host=True)
        entries = []
        for entry in given:
            check_entry(entry)
            dot = "." if entry.startswith(".") else ""
            parsed = split_host(entry.removeprefix("."))
            assert parsed is not None  # check_entry said so
            entries.append((dot + parsed[0], parsed[1]))
        return cls(tuple(entries))

    def allows(self, host_headers: Sequence[bytes]) -> bool:
        """True when the request's Host headers (none, or exactly one) name an allowed host.

        A request without a Host (HTTP/1.0) is answered: links then come from the address
        the server listens on, which no visitor chooses.
        """
        if self.any_host or not host_headers:
            return True
        if len(host_headers) > 1:
            return False
        try:
            parsed = split_host(host_headers[0].decode("ascii"))
        except UnicodeDecodeError:
            return False
        if parsed is None:
            return False
        host, port = parsed
        for allowed, allowed_port in self.entries:
            if allowed_port is not None and allowed_port != port:
                continue
            if host == allowed or (allowed.startswith(".") and ("." + host).endswith(allowed)):
                return True
        return False

    def describe(self) -> str:
        """The rule in words, for logs."""
        if self.any_host:
            return "any"
        return ",".join(h if p is None else f"{h}:{p}" for h, p in self.entries)


def allowed_hosts(settings: Settings) -> AllowedHosts:
    """The allowed hosts of ``settings``; ConfigError for an entry that is not a host."""
    try:
        return AllowedHosts.build(settings.allowed_hosts, settings.base_url)
    except ValueError as exc:
        raise ConfigError(f"setting 'allowed_hosts': {exc}") from exc
