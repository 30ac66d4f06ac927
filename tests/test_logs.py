"""Log formats: JSON keeps every field's whole value; text stays one readable line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from polynews.logs import configure_logging

TRICKY = "http://example.org/a b?x=1&y=two words"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def _json_lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_extra_fields_survive_whole_in_json(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")
    logging.getLogger("polynews.test").warning(
        "source failed", extra={"source_id": 7, "url": TRICKY, "error": 'said "no" = bad'}
    )
    (line,) = _json_lines(capsys.readouterr().err)
    assert line["message"] == "source failed"
    assert line["source_id"] == 7
    assert line["url"] == TRICKY
    assert line["error"] == 'said "no" = bad'
    assert line["level"] == "warning" and line["logger"] == "polynews.test"


def test_template_pairs_take_the_whole_argument(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")
    log = logging.getLogger("polynews.test")
    log.info("fetch failed source_id=%s url=%s stage=fetch error=%s", 3, TRICKY, "x = y z")
    log.info("model unloaded lang=%s-%s; kept=%d", "de", "en", 2)
    first, second = _json_lines(capsys.readouterr().err)
    assert first["url"] == TRICKY
    assert first["error"] == "x = y z"
    assert first["source_id"] == 3 and first["stage"] == "fetch"
    assert "x" not in first and "y" not in first  # no field made up from a value's inside
    assert second["lang"] == "de-en" and second["kept"] == 2


def test_text_format_appends_extra_fields_readably(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "text")
    log = logging.getLogger("polynews.test")
    log.warning("source failed", extra={"source_id": 7, "url": TRICKY, "stage": "fetch"})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("pass failed", extra={"stage": "run"})
    err = capsys.readouterr().err
    first, second, *trace = err.splitlines()
    assert first.endswith(
        f"polynews.test: source failed source_id=7 url={json.dumps(TRICKY)} stage=fetch"
    )
    assert second.endswith("pass failed stage=run")
    assert trace[0] == "Traceback (most recent call last):" and trace[-1] == "ValueError: boom"


def test_json_keeps_the_traceback(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("polynews.test").exception("pass failed stage=%s", "run")
    (line,) = _json_lines(capsys.readouterr().err)
    assert line["stage"] == "run"
    assert str(line["exception"]).endswith("ValueError: boom")
