"""The JSON API: filters, cursors, one article with provenance, sources with a token."""

from __future__ import annotations

import json

import httpx
import pytest
from tests.web.conftest import Seeded

pytestmark = pytest.mark.anyio


async def test_articles_list_and_cursor(client: httpx.AsyncClient, seeded: Seeded) -> None:
    r = await client.get("/api/v1/articles", params={"lang": "en", "limit": 2})
    assert r.status_code == 200
    body = r.json()
    assert [i["id"] for i in body["items"]] == [seeded.english, seeded.french]
    assert body["items"][1]["title"] == "The harbour lock reopens after three weeks of works"
    assert body["items"][1]["translated"] is True and body["items"][1]["language"] == "fr"
    assert body["items"][1]["page"].startswith(f"http://news.test/en/a/{seeded.french}/")
    nxt = await client.get(
        "/api/v1/articles", params={"lang": "en", "limit": 2, "cursor": body["next_cursor"]}
    )
    rest = nxt.json()
    assert [i["id"] for i in rest["items"]] == [seeded.hostile]
    assert rest["next_cursor"] is None


async def test_articles_filters(client: httpx.AsyncClient, seeded: Seeded) -> None:
    r = await client.get("/api/v1/articles", params={"source": seeded.other_source_id})
    assert [i["id"] for i in r.json()["items"]] == [seeded.english]
    r = await client.get("/api/v1/articles", params={"since": "2025-10-28T00:00:00Z"})
    assert {i["id"] for i in r.json()["items"]} == {seeded.english, seeded.french}
    r = await client.get("/api/v1/articles", params={"lang": "es", "q": "esclusa"})
    assert [i["id"] for i in r.json()["items"]] == [seeded.french]


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"lang": "xx"}, 400, "not a site language"),
        ({"cursor": "!!!"}, 400, "cursor"),
        ({"since": "yesterday"}, 422, "since"),
        ({"q": '"*()'}, 400, "no word"),
        ({"limit": 0}, 422, "limit"),
    ],
)
async def test_articles_bad_input_is_a_clear_error(
    client: httpx.AsyncClient, params: dict[str, object], status: int, message: str
) -> None:
    r = await client.get("/api/v1/articles", params=params)
    assert r.status_code == status
    assert message in r.json()["error"]


async def test_article_detail_has_every_translation(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    r = await client.get(f"/api/v1/articles/{seeded.french}")
    body = r.json()
    assert body["original"]["lang"] == "fr"
    assert body["source_url"] == "http://127.0.0.1:9/gazette/ecluse.html"
    by_lang = {t["lang"]: t for t in body["translations"]}
    assert by_lang["en"]["route"] == "apertium fr→es→en" and by_lang["en"]["engine"] == "apertium"
    assert by_lang["de"]["status"] == "no_engine"
    assert by_lang["it"]["status"] == "failed" and by_lang["it"]["error"] == "apertium crashed"
    assert (await client.get("/api/v1/articles/424242")).status_code == 404


async def test_sources_read_and_write_with_token(client: httpx.AsyncClient, seeded: Seeded) -> None:
    r = await client.get("/api/v1/sources")
    assert {s["name"] for s in r.json()} == {"Gazette de l'Estuaire", "Northgate Post"}
    new = {"url": "http://127.0.0.1:9/new.xml", "kind": "feed", "name": "New"}
    assert (await client.post("/api/v1/sources", json=new)).status_code == 401
    bad = {"authorization": "Bearer wrong"}
    assert (await client.post("/api/v1/sources", json=new, headers=bad)).status_code == 401
    good = {"authorization": "Bearer s3cret-token"}
    r = await client.post("/api/v1/sources", json=new, headers=good)
    assert r.status_code == 201 and r.json()["name"] == "New"
    again = await client.post("/api/v1/sources", json=new, headers=good)
    assert again.status_code == 409 and "already registered" in again.json()["error"]
    junk = await client.post("/api/v1/sources", json={"url": "ftp://x"}, headers=good)
    assert junk.status_code == 400 and "http(s)" in junk.json()["error"]


async def test_writes_disabled_without_token(site_settings, site_engine, seeded) -> None:  # type: ignore[no-untyped-def]
    from polynews.web import create_app

    app = create_app(site_settings.replace(api_token=""), site_engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://news.test"
    ) as c:
        r = await c.post(
            "/api/v1/sources",
            json={"url": "http://127.0.0.1:9/x.xml"},
            headers={"authorization": "Bearer "},
        )
        assert r.status_code == 403 and "disabled" in r.json()["error"]


async def test_openapi_and_docs(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    assert "/api/v1/articles" in spec["paths"] and "/api/v1/sources" in spec["paths"]
    docs = await client.get("/api/docs")
    assert docs.status_code == 200 and "GET /api/v1/articles/{article_id}" in docs.text
    assert "<script" not in docs.text


NEW = {"url": "http://127.0.0.1:9/new.xml", "kind": "feed", "name": "New"}


@pytest.mark.parametrize(
    "authorization",
    [
        "s3cret-token",  # the token without a scheme
        "Basic s3cret-token",
        "Token s3cret-token",
        "Bearers3cret-token",
        "Bearer",
        "Bearer ",
        "Bearer s3cret-token-and-more",
        "Bearer s3cret-toke",
        "Bearer s3cret-tokén",
    ],
)
async def test_write_api_requires_the_bearer_scheme_and_the_exact_token(
    client: httpx.AsyncClient, authorization: str
) -> None:
    headers = {"authorization": authorization.encode("utf-8")}  # type: ignore[dict-item]
    r = await client.post("/api/v1/sources", json=NEW, headers=headers)
    assert r.status_code == 401, authorization
    assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer", "bEaReR"])
async def test_write_api_takes_the_bearer_scheme_in_any_case(
    client: httpx.AsyncClient, scheme: str
) -> None:
    r = await client.post(
        "/api/v1/sources", json=NEW, headers={"authorization": f"{scheme} s3cret-token"}
    )
    assert r.status_code == 201, r.text


GOOD = {"authorization": "Bearer s3cret-token"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"url": "http://127.0.0.1:9/" + "a" * 2100 + ".xml"}, "2048 at most"),
        ({"url": "http://127.0.0.1:9/x.xml", "name": "N" * 201}, "200 at most"),
        ({"url": "http://127.0.0.1:9/x.xml", "name": "Bad\x1b[31mred"}, "control character"),
        ({"url": "http://127.0.0.1:9/x.xml", "name": "Two\nlines"}, "control character"),
        ({"url": "http://127.0.0.1:9/x\x00.xml"}, "control character"),
        ({"url": "http://127.0.0.1:9/x\t.xml"}, "control character"),
        ({"url": "http://127.0.0.1:9/x.xml", "name": "\ud800"}, "control character"),
    ],
)
async def test_write_api_refuses_long_and_unprintable_values(
    client: httpx.AsyncClient, body: dict[str, str], message: str
) -> None:
    raw = json.dumps(body)  # ensure_ascii: a lone surrogate travels as \ud800
    r = await client.post(
        "/api/v1/sources",
        content=raw,
        headers={**GOOD, "content-type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert message in r.json()["error"]
    assert (await client.get("/api/v1/sources")).json()[-1]["url"] != "http://127.0.0.1:9/x.xml"


async def test_write_api_stores_sources_canonical(client: httpx.AsyncClient) -> None:
    first = await client.post(
        "/api/v1/sources", json={"url": "http://example.org/feed.xml"}, headers=GOOD
    )
    assert first.status_code == 201
    for variant in (
        "http://EXAMPLE.org:80/feed.xml?utm_source=x",
        "HTTP://Example.ORG/feed.xml#latest",
        "http://example.org:80/feed.xml?fbclid=abc&utm_medium=rss",
    ):
        again = await client.post("/api/v1/sources", json={"url": variant}, headers=GOOD)
        assert again.status_code == 409, (variant, again.text)
    kept = await client.post(
        "/api/v1/sources", json={"url": "http://EXAMPLE.org/feed.xml?cat=world"}, headers=GOOD
    )
    assert kept.status_code == 201 and kept.json()["url"] == "http://example.org/feed.xml?cat=world"
    urls = [s["url"] for s in (await client.get("/api/v1/sources")).json()]
    assert urls.count("http://example.org/feed.xml") == 1
