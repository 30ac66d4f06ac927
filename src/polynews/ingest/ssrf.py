"""The SSRF guard: no request goes to a private, loopback or otherwise internal address.

A source URL comes from whoever may add sources, so it must not be a way to reach the
machine itself or its network (a cloud metadata endpoint, an admin port, a database).
Two layers enforce that:

* :meth:`UrlGuard.check` runs before every request and every redirect hop: it refuses
  non-http(s) schemes and URLs with credentials, reads the host as an address when it is
  one (including the legacy forms ``2130706433``, ``0x7f.1`` or ``017700000001`` that C
  resolvers accept), otherwise resolves it, and refuses when ANY address is not global.
* :class:`GuardedTransport` closes the DNS-rebinding gap: a hostile DNS server could
  answer with a public address for the check and a private one for the connection. Its
  network backend resolves the name once more at connect time, checks every address
  again and connects to the checked address itself, so what was checked is what is
  connected to; TLS still verifies the certificate against the host name. A transport
  injected into the fetcher (tests, ASGI apps) only gets the first layer.

Operators opt in to internal networks with ``allow_private_networks`` (CIDR list, or
``all`` to switch the guard off), e.g. ``127.0.0.0/8`` for a local test server.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpcore
import httpx

from polynews.config import Settings
from polynews.errors import BlockedAddressError, InvalidURLError, NetworkError

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = frozenset({"http", "https"})

_SHARED_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix, embeds an IPv4


class AddressPolicy:
    """Which addresses may be contacted: global ones plus the operator's allowed networks."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        names = [str(n).strip() for n in allowed]
        self.allow_all = any(n in ("all", "*") for n in names)
        self.networks: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in names if n not in ("all", "*")
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressPolicy:
        """The policy described by ``settings.allow_private_networks``."""
        return cls(settings.allow_private_networks)

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` must not be contacted, or None when it may be."""
        if self.allow_all:
            return None
        kind = non_global_kind(address)
        if kind is None:
            return None
        if self._allowed(address):
            return None
        return f"{address} is {kind}"

    def _allowed(self, address: IPAddress) -> bool:
        candidates: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        return any(a.version == n.version and a in n for a in candidates for n in self.networks)


def non_global_kind(address: IPAddress) -> str | None:
    """Describe why ``address`` is not a public Internet address ("a loopback address"), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = non_global_kind(embedded)
            return None if inner is None else f"{inner} ({embedded} written as IPv6)"
    # Order matters: 127.0.0.1 is also "private" to the ipaddress module, but "loopback"
    # is the word that tells the operator what they hit.
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED_SPACE:
        return "a shared (carrier-grade NAT) address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if not address.is_global:
        return "a non-global address"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # These IPv6 forms carry an IPv4 address that the packets may end up at.
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return None


def parse_ip_literal(host: str) -> IPAddress | None:
    """Read ``host`` as an IP address if it is one, in any form a C resolver would accept.

    Besides dotted quads and IPv6 (with or without brackets), inet_aton(3) accepts 1 to 4
    parts in decimal, octal (leading 0) or hex (0x): ``2130706433``, ``0x7f.1``, ``0177.1``.
    Returns None for a host name.
    """
    text = host.strip().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0]  # IPv6 zone id
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    return _inet_aton(text)


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        lower = part.lower()
        try:
            if lower.startswith("0x"):
                numbers.append(int(lower[2:] or "0", 16))
            elif len(lower) > 1 and lower.startswith("0"):
                numbers.append(int(lower, 8))
            elif lower.isdigit():
                numbers.append(int(lower, 10))
            else:
                return None
        except ValueError:
            return None
    # The last part fills all the bytes the earlier parts leave: a.b.c.d, a.b.cd, a.bcd, abcd.
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for index, number in enumerate(head):
        value |= number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


async def resolve(host: str, port: int) -> list[IPAddress]:
    """All addresses ``host`` resolves to (getaddrinfo in a worker thread), in resolver order."""
    literal = parse_ip_literal(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


class UrlGuard:
    """Refuses URLs that are not plain http(s) to a public address (see the module docstring)."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    async def check(self, url: str) -> None:
        """Raise :class:`BlockedAddressError` unless ``url`` may be fetched; resolves its host."""
        parsed = parse_url(url)
        if parsed.scheme not in ALLOWED_SCHEMES:
            raise BlockedAddressError(
                f"refused {url}: only http and https URLs are fetched, not {parsed.scheme!r}",
                url=url,
            )
        if parsed.userinfo:
            raise BlockedAddressError(
                f"refused {url}: URLs with a user name or password are not fetched "
                "(remove the credentials from the URL)",
                url=url,
            )
        host = parsed.raw_host.decode("ascii")
        if not host:
            raise InvalidURLError(f"cannot fetch {url}: the URL has no host", url=url)
        if self.policy.allow_all:
            return
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            addresses = await resolve(host, port)
        except UnicodeError as exc:  # a label over 63 characters, an empty label
            raise InvalidURLError(
                f"cannot fetch {url}: {host} is not a valid host name ({exc})", url=url
            ) from exc
        except OSError as exc:
            raise NetworkError(
                f"cannot fetch {url}: host {host} does not resolve ({exc})", url=url
            ) from exc
        for address in addresses:
            reason = self.policy.refusal(address)
            if reason is not None:
                logger.warning("ssrf refused url=%s address=%s", url, address)
                raise BlockedAddressError(
                    f"refused {url}: {reason} (set allow_private_networks to allow it)", url=url
                )


def parse_url(url: str) -> httpx.URL:
    """Parse ``url`` or raise an :class:`InvalidURLError` saying why it is not a URL."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise InvalidURLError(
            f"cannot fetch {url!r}: not a valid URL ({exc})", url=str(url)
        ) from exc
    if not parsed.scheme:
        raise InvalidURLError(f"cannot fetch {url!r}: not an absolute URL", url=str(url))
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise InvalidURLError(
            f"cannot fetch {url!r}: port {parsed.port} is out of range (1-65535)", url=str(url)
        )
    return parsed


class _Refused(Exception):
    """Raised inside the network backend; the transport turns it into BlockedAddressError."""


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks and connects to the checked address (no second lookup in between)."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await asyncio.wait_for(resolve(host, port), timeout)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        for address in addresses:
            reason = self._policy.refusal(address)
            if reason is not None:
                raise _Refused(reason)
        last: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
        raise last

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# httpcore and httpx name their exceptions alike; this is the public mapping between them.
_EXCEPTIONS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.TimeoutException, httpx.TimeoutException),
)


def _map_exception(exc: Exception, request: httpx.Request) -> Exception:
    if isinstance(exc, _Refused):
        url = str(request.url)
        return BlockedAddressError(
            f"refused {url}: {exc} at connect time (set allow_private_networks to allow it)",
            url=url,
        )
    for core_type, httpx_type in _EXCEPTIONS:
        if isinstance(exc, core_type):
            return httpx_type(str(exc), request=request)
    return exc


class _GuardedStream(httpx.AsyncByteStream):
    def __init__(self, stream: Any, request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except Exception as exc:
            mapped = _map_exception(exc, self._request)
            if mapped is exc:
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        await self._stream.aclose()


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """httpx's verifying context, built once per process: loading the CA bundle takes
    about 25 ms, and every pass and every fetch job makes a transport."""
    return httpx.create_ssl_context()


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose connections only go to addresses the policy allows."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        max_connections: int = 16,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or _default_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(policy),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the guarded connection pool."""
        if not isinstance(request.stream, httpx.AsyncByteStream):
            raise TypeError("GuardedTransport needs an async request body")
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = await self._pool.handle_async_request(core_request)
        except Exception as exc:
            mapped = _map_exception(exc, request)
            if mapped is exc:
                raise
            raise mapped from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_GuardedStream(response.stream, request),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._pool.aclose()


__all__ = [
    "AddressPolicy",
    "GuardedTransport",
    "UrlGuard",
    "non_global_kind",
    "parse_ip_literal",
    "parse_url",
    "resolve",
]
