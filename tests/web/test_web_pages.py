"""The reader's pages through an in-process client on a real SQLite database."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.web.conftest import SCRIPT_MARKERS, Seeded

pytestmark = pytest.mark.anyio


async def test_smoke(client: httpx.AsyncClient, seeded: Seeded) -> None:
    r = await client.get("/en/")
    assert r.status_code == 200, r.text
    print(r.text)
