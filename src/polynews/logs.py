"""Log set-up for the command line (library code only ever calls ``logging.getLogger``).

A log line carries stable keys (``source_id``, ``article_id``, ``url``, ``stage``,
``lang``, ...) in one of two ways, and both reach the JSON format as whole values:

- structured fields, ``log.warning("source failed", extra={"source_id": 3, "url": u})``:
  the JSON object gets them as they are; the text format appends ``source_id=3 url=...``
  (quoted when a value holds spaces, ``=`` or quotes);
- ``key=%s`` pairs in the message template, ``log.info("fetched source_id=%s", 3)``: the
  value is the argument itself, taken from the template and its arguments, never parsed
  back out of the rendered message (where a value with a space would be cut short).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record came in through ``extra=``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}

_KEY = re.compile(r"^[(\[]?([A-Za-z_]\w*)=(.*)$")
_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*\d*(?:\.\d+)?[hlL]?([diouxXeEfFgGcrsa%])")
_SIMPLE = ("%s", "%d", "%i", "%r", "%f")

Field = str | int | float | bool | None


def _plain(value: object) -> Field:
    """A JSON-friendly form of a field's value (text unless it is a number, bool or None)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def extra_fields(record: logging.LogRecord) -> dict[str, Field]:
    """The fields given with ``extra=``, in the order they were given."""
    return {
        key: _plain(value)
        for key, value in vars(record).items()
        if key not in _RECORD_ATTRIBUTES and not key.startswith("_")
    }


def template_fields(record: logging.LogRecord) -> dict[str, Field]:
    """The ``key=%s`` pairs of the message template, each with its whole argument."""
    if not isinstance(record.msg, str) or isinstance(record.args, Mapping):
        return {}
    args = tuple(record.args or ())
    fields: dict[str, Field] = {}
    used = 0
    try:
        for token in record.msg.split():
            specs = [m for m in _SPEC.finditer(token) if m.group(1) != "%"]
            taken = args[used : used + len(specs)]
            used += len(specs)
            match = _KEY.match(token)
            if match is None:
                continue
            key, rest = match.groups()
            if not (specs and specs[-1].end() == len(token)):
                rest = rest.rstrip(",;:.)]")  # punctuation of the sentence, not the value
            if rest in _SIMPLE and len(taken) == 1:
                fields[key] = _plain(taken[0])
            else:
                fields[key] = rest % taken if specs else rest.replace("%%", "%")
        if used != len(args):
            return {}
    except (TypeError, ValueError):
        return {}  # a template that does not format: only the message is kept
    return fields


def _quote(value: Field) -> str:
    text = str(value)
    if not text or any(ch.isspace() or ch in '="' for ch in text):
        return json.dumps(text, ensure_ascii=False)
    return text


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...``, the ``extra=`` fields appended."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one readable line (plus any traceback)."""
        line = super().format(record)
        extras = extra_fields(record)
        if not extras:
            return line
        head, sep, tail = line.partition("\n")  # keep a traceback below the fields
        pairs = " ".join(f"{key}={_quote(value)}" for key, value in extras.items())
        return f"{head} {pairs}{sep}{tail}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and every field, whole."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as JSON."""
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in {**template_fields(record), **extra_fields(record)}.items():
            payload.setdefault(key, value)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Send logs to stderr in the chosen format; quiet the chatty libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "trafilatura", "htmldate", "alembic", "courlan"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
