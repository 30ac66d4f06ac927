"""The JSON API: filters, cursors, one article with provenance, sources with a token."""

from __future__ import annotations

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
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
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
