"""Numbers and cursors no page or API call ever gives out: a clear 400 or 404, never a 500.

SQLite refuses integers beyond 64 bits (OverflowError) and PostgreSQL ids beyond 32 bits
("integer out of range"), so both databases are tried.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import Engine
from tests.web.conftest import seed

from polynews.config import Settings
from polynews.web import create_app

pytestmark = pytest.mark.anyio

HUGE = 10**30
PAST_INT64 = 2**63
PAST_INT32 = 2**31


def cursor(data: object) -> str:
    """A cursor as the API encodes them, around any JSON value."""
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.fixture
async def any_db_client(db_settings: Settings, engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """The site on SQLite, then on PostgreSQL, with the seeded articles."""
    seed(engine)
    app = create_app(db_settings, engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as c:
        yield c


OUT_OF_RANGE_PAGES = (
    [
        f"/en/a/{number}{tail}"
        for number in (HUGE, PAST_INT64, PAST_INT32, -1, 0)
        for tail in ("", "/some-slug")
    ]
    + [
        f"/en/source/{HUGE}",
        f"/en/source/{PAST_INT64}",
        f"/en/source/{PAST_INT32}",
        f"/en/source/1/page/{HUGE}",
        f"/en/page/{HUGE}/",
        f"/sitemap-{HUGE}.xml",
        f"/en/search?q=port&page={HUGE}",
        f"/api/v1/articles/{HUGE}",
        f"/api/v1/articles/{PAST_INT64}",
        f"/api/v1/articles/{PAST_INT32}",
        "/api/v1/articles/-1",
    ]
    + [
        f"{prefix}{number}{tail}"
        for number in (HUGE, PAST_INT64, PAST_INT32, -1, 0)
        for prefix, tail in (("/en/s/", ""), ("/en/s/", "/some-slug"), ("/api/v1/stories/", ""))
    ]
)


async def test_out_of_range_ids_and_pages_are_not_found(
    any_db_client: httpx.AsyncClient,
) -> None:
    for path in OUT_OF_RANGE_PAGES:
        r = await any_db_client.get(path)
        assert r.status_code == 404, (path, r.status_code)


BAD_API_PARAMS: list[dict[str, object]] = [
    {"source": HUGE},
    {"source": PAST_INT64},
    {"source": PAST_INT32},
    {"source": -1},
    {"cursor": cursor({"t": "2025-10-28T00:00:00+00:00", "id": HUGE})},
    {"cursor": cursor({"t": "2025-10-28T00:00:00+00:00", "id": -1})},
    {"cursor": cursor({"t": "2025-10-28T00:00:00", "id": 1})},  # a naive time
    {"cursor": cursor({"t": 5, "id": 1})},
    {"cursor": cursor({"t": "2025-10-28T00:00:00+00:00", "id": [1]})},
    {"cursor": cursor({"id": 1})},
    {"cursor": cursor([])},
    {"cursor": base64.urlsafe_b64encode(b"[" * 5_000).decode()},  # RecursionError in json
    {"q": "port", "cursor": cursor({"o": HUGE})},
    {"q": "port", "cursor": cursor({"o": PAST_INT64})},
    {"q": "port", "cursor": cursor({"o": -5})},
    {"q": "port", "cursor": cursor({"o": "abc"})},
    {"q": "port", "cursor": cursor({"o": [1]})},
    {"q": "port", "cursor": cursor({"o": True})},
]


async def test_bad_numbers_and_cursors_in_the_api_are_refused(
    any_db_client: httpx.AsyncClient,
) -> None:
    for params in BAD_API_PARAMS:
        r = await any_db_client.get("/api/v1/articles", params=params)
        assert r.status_code == 400, (params, r.status_code, r.text[:200])
        assert r.json()["error"]
        if "cursor" in params and "q" not in params:
            r = await any_db_client.get("/api/v1/stories", params=params)
            assert r.status_code == 400, (params, r.status_code, r.text[:200])
