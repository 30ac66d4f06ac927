"""The SSRF guard: literal address forms, schemes, credentials, allowed networks, connect time.

Literal IPs never reach a resolver; the only host name used is "localhost".
"""

from __future__ import annotations

import asyncio
import ipaddress

import httpx
import pytest
from localserver import LocalServer

from polynews.errors import BlockedAddressError, FetchError
from polynews.ingest.ssrf import (
    AddressPolicy,
    GuardedTransport,
    UrlGuard,
    non_global_kind,
    parse_ip_literal,
)


def check(url: str, allowed: list[str] | None = None) -> None:
    asyncio.run(UrlGuard(AddressPolicy(allowed or [])).check(url))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://127.255.0.9:8080/x", "loopback"),
        ("http://2130706433/", "127.0.0.1 is a loopback address"),  # one decimal number
        ("http://0x7f.1/", "127.0.0.1 is a loopback address"),  # hex and a short form
        ("http://0177.1/", "127.0.0.1 is a loopback address"),  # octal
        ("http://017700000001/", "127.0.0.1 is a loopback address"),
        ("http://0x7f000001/", "127.0.0.1 is a loopback address"),
        ("http://127.1/", "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://0xa9fea9fe/", "169.254.169.254 is a link-local address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://0/", "0.0.0.0 is an unspecified address"),
        ("http://224.0.0.251/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://255.255.255.255/", "reserved"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://[::]/", "unspecified"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fc00::1]/", "private"),
        ("http://[fd12:3456::1]:8080/", "private"),
        ("http://[ff02::1]/", "multicast"),
        ("http://[::ffff:127.0.0.1]/", "127.0.0.1 written as IPv6"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://[::ffff:a00:1]/", "private"),
        ("http://[64:ff9b::10.0.0.1]/", "private"),  # NAT64 around a private IPv4
        ("http://[2002:7f00:1::1]/", "loopback"),  # 6to4 around 127.0.0.1
        ("http://localhost:8000/admin", "loopback"),
        ("https://LOCALHOST/", "loopback"),
    ],
)
def test_internal_addresses_are_refused(url: str, reason: str) -> None:
    with pytest.raises(BlockedAddressError) as caught:
        check(url)
    message = str(caught.value)
    assert message.startswith(f"refused {url}")
    assert reason in message
    assert "allow_private_networks" in message
    assert caught.value.url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/",
        "https://8.8.8.8:8443/path?q=1",
        "http://134744072/",  # 8.8.8.8 as one number: odd, but public
        "http://[2606:4700:4700::1111]/",
        "http://[::ffff:8.8.8.8]/",
    ],
)
def test_public_literal_addresses_pass(url: str) -> None:
    check(url)  # raises on refusal; no connection is made


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://93.184.216.34/file",
        "gopher://93.184.216.34:70/",
        "dict://93.184.216.34:11211/",
    ],
)
def test_only_http_and_https_are_fetched(url: str) -> None:
    with pytest.raises(BlockedAddressError) as caught:
        check(url, ["all"])
    assert "only http and https" in str(caught.value)


@pytest.mark.parametrize(
    "url", ["http://user:secret@93.184.216.34/", "https://token@93.184.216.34/feed"]
)
def test_credentials_in_urls_are_refused(url: str) -> None:
    with pytest.raises(BlockedAddressError) as caught:
        check(url)
    assert "password" in str(caught.value)
    assert "secret" not in str(caught.value).replace(url, "")


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "http://",
        "/relative/path",
        "http://[::1/",
        "http://0177.0.0.1/",  # httpx refuses dotted quads with leading zeros outright
    ],
)
def test_malformed_urls_get_a_clear_error(url: str) -> None:
    with pytest.raises(FetchError) as caught:
        check(url)
    assert repr(url) in str(caught.value) or url in str(caught.value)


def test_allowed_networks_let_their_addresses_through_and_only_those() -> None:
    allowed = ["127.0.0.0/8"]
    check("http://127.0.0.1:8080/", allowed)
    check("http://2130706433/", allowed)
    check("http://[::ffff:127.0.0.1]/", allowed)  # the same address in IPv6 form
    with pytest.raises(BlockedAddressError):
        check("http://10.0.0.1/", allowed)
    with pytest.raises(BlockedAddressError):
        check("http://169.254.169.254/", allowed)


def test_all_switches_the_guard_off_but_not_the_scheme_check() -> None:
    check("http://169.254.169.254/", ["all"])
    check("http://[::1]/", ["all"])
    with pytest.raises(BlockedAddressError):
        check("file:///etc/passwd", ["all"])


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7F.0.0.1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1.65535", "10.1.255.255"),
        ("[::1]", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("192.168.0.1.", "192.168.0.1"),
        ("example.org", None),
        ("256.1.1.1", None),
        ("1.2.3.4.5", None),
        ("0x100000000", None),
        ("08.0.0.1", None),  # not octal, not decimal: a (strange) host name
        ("1e3", None),
    ],
)
def test_literal_forms_are_read_as_a_c_resolver_would(host: str, expected: str | None) -> None:
    parsed = parse_ip_literal(host)
    assert (None if parsed is None else str(parsed)) == expected


def test_global_addresses_have_no_refusal_kind() -> None:
    assert non_global_kind(ipaddress.ip_address("1.1.1.1")) is None
    assert non_global_kind(ipaddress.ip_address("2a00:1450::1")) is None
    assert non_global_kind(ipaddress.ip_address("192.0.2.1")) is not None  # documentation


def test_invalid_allowed_network_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"10\.0\.0\.300"):
        AddressPolicy(["10.0.0.300/8"])


async def _get_through_guarded_transport(url: str, allowed: list[str]) -> httpx.Response:
    transport = GuardedTransport(AddressPolicy(allowed))
    async with httpx.AsyncClient(transport=transport) as client:
        return await client.get(url)


def test_transport_refuses_at_connect_time_without_any_prior_check() -> None:
    # This is the DNS-rebinding defence: the address is checked where it is connected to.
    with LocalServer().running() as server:
        url = server.url("/x").replace("127.0.0.1", "localhost")
        with pytest.raises(BlockedAddressError) as caught:
            asyncio.run(_get_through_guarded_transport(url, []))
        assert "at connect time" in str(caught.value)
        assert "loopback" in str(caught.value)
        assert server.seen == []


def test_transport_connects_to_allowed_addresses() -> None:
    with LocalServer().running() as server:
        server.static("/ok", b"fine", "text/plain")
        url = server.url("/ok").replace("127.0.0.1", "localhost")
        response = asyncio.run(_get_through_guarded_transport(url, ["127.0.0.0/8", "::1/128"]))
        assert response.status_code == 200
        assert response.text == "fine"
        assert server.hits("/ok")[0].headers["host"] == f"localhost:{server.port}"


def test_transport_maps_connection_errors_to_httpx_errors() -> None:
    closed = LocalServer()
    url = closed.url("/x")
    closed._httpd.server_close()
    with pytest.raises(httpx.ConnectError):
        asyncio.run(_get_through_guarded_transport(url, ["127.0.0.0/8"]))
