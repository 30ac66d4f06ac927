"""One pipeline at a time per database, on both databases."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Engine

from polynews.config import Settings
from polynews.errors import StoreError
from polynews.pipeline import run_pass
from polynews.store.lock import pipeline_lock


def test_a_second_pipeline_is_refused_while_one_runs(engine: Engine, db_settings: Settings) -> None:
    settings = db_settings.replace(translate=False)
    with (
        pipeline_lock(engine, Path(settings.data_dir)),
        pytest.raises(StoreError, match="another polynews pipeline"),
    ):
        asyncio.run(run_pass(settings, progress=False))
    # released: the next pass runs (nothing to do, but it runs)
    report = asyncio.run(run_pass(settings, progress=False))
    assert report.sources == 0
