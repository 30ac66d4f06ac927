"""The ingested demo's story pages and API put conflicting figures side by side.

The demo corpus makes outlets disagree, in several languages, on the firefighters at
the Valdelobos wildfire, the wheat and crop losses of the Korea talks and the
passengers hit by the rail strike; the figures are only comparable through their
canonical unit keys ("pompiers", "450 пожарных", "firefighters").
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import IngestedDemo, copy_ingested_demo
from tests.web.test_web_stories import Doc

from polynews.store import open_store
from polynews.web import create_app

pytestmark = [pytest.mark.anyio, pytest.mark.apertium]


@pytest.fixture
async def demo_client(
    ingested_demo: IngestedDemo, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The site over the session's ingested demo (a private copy on SQLite)."""
    settings = ingested_demo.settings
    if settings.database_url is None or settings.database_url.startswith("sqlite"):
        settings = copy_ingested_demo(ingested_demo, tmp_path / "demo")
    engine = open_store(settings)
    app = create_app(settings.replace(base_url="http://news.test"), engine)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5555))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as c:
            yield c
    finally:
        engine.dispose()


async def _stories(client: httpx.AsyncClient, lang: str) -> list[dict[str, Any]]:
    """Every story of the API's list, each in full."""
    ids: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"lang": lang, "limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/stories", params=params)).json()
        ids += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    out = []
    for story_id in ids:
        r = await client.get(f"/api/v1/stories/{story_id}", params={"lang": lang})
        assert r.status_code == 200, r.text
        out.append(r.json())
    return out


def _groups(story: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """A story's conflict groups by unit key, each with its claims' languages."""
    language = {c["id"]: c["language"] for c in story["claims"]}
    out: dict[str, list[dict[str, Any]]] = {}
    for group in story["conflicts"]:
        figures = [dict(f, language=language[f["claim_id"]]) for f in group["figures"]]
        out.setdefault(group["unit"], []).extend(figures)
    return out


async def test_api_shows_conflicting_figures_across_languages(
    demo_client: httpx.AsyncClient,
) -> None:
    stories = await _stories(demo_client, "en")
    conflicting = [s for s in stories if s["conflicts"]]
    assert len(conflicting) >= 3
    across = {
        unit: figures
        for s in conflicting
        for unit, figures in _groups(s).items()
        if len({f["language"] for f in figures}) >= 2
        and len({f["value"] for f in figures}) >= 2
        and len({f["who"].casefold() for f in figures}) >= 2
    }
    assert {"firefighter", "tonne", "passenger", "%"} <= set(across)
    fire = {(f["value"], f["language"], f["unit"]) for f in across["firefighter"]}
    assert (600, "fr", "pompiers") in fire and (450, "ru", "пожарных") in fire
    assert {f["unit"] for f in across["tonne"]} >= {"tonnes", "tonnen"}
    assert {f["value"] for f in across["passenger"]} == {1_200_000, 2_000_000}
    assert {f["value"] for f in across["%"]} >= {25, 40}
    # Each figure's claim is marked, and its quantity carries the unit key.
    for s in conflicting:
        ids = {f["claim_id"] for g in s["conflicts"] for f in g["figures"]}
        claims = {c["id"]: c for c in s["claims"]}
        assert all(claims[i]["conflict"] for i in ids)
        for group in s["conflicts"]:
            keys = {
                q["unit_key"] for f in group["figures"] for q in claims[f["claim_id"]]["quantities"]
            }
            assert group["unit"] in keys
    # Far-apart figures of one unit are different quantities, not a conflict: the month's
    # 2.3 million tonnes and a barge's 12 000 tonnes; 2 500 tonnes of soybeans.
    for s in stories:
        for group in s["conflicts"]:
            values = [f["value"] for f in group["figures"]]
            assert max(values) / min(values) <= 3, group
            assert 2_300_000 not in values and 2_500 not in values


@pytest.mark.parametrize("lang", ["en", "uk"])
async def test_story_pages_show_conflicting_figures_side_by_side(
    demo_client: httpx.AsyncClient, lang: str
) -> None:
    stories = await _stories(demo_client, lang)
    shown: dict[str, list[str]] = {}
    for s in stories:
        if not s["conflicts"]:
            continue
        page = await demo_client.get(httpx.URL(s["page"]).path)
        assert page.status_code == 200
        doc = Doc(page.text)
        units = [a["data-unit"] for _tag, a, _t in doc.all("conflict")]
        assert units == [g["unit"] for g in s["conflicts"]]
        for _tag, attrs, text in doc.all("conflict"):
            shown.setdefault(attrs["data-unit"], []).append(text)
        assert doc.all("claim-conflict")
    assert len([s for s in stories if s["conflicts"]]) >= 3
    firefighters = " ".join(shown["firefighter"])
    assert "600 pompiers" in firefighters and "450 пожарных" in firefighters
    assert "450 firefighters" in firefighters and "al massimo 450 pompieri" in firefighters
    tonnes = " ".join(shown["tonne"])
    assert "10 000 tonnes" in tonnes and "bis zu 15 000 Tonnen" in tonnes
    passengers = " ".join(shown["passenger"])
    assert "mehr als 2 Millionen Fahrgäste" in passengers and "1.2 million passengers" in passengers
