"""``polynews stories compare``: the same-story decision on pairs read as JSON lines.

Each input line is ``{"id": ..., "a": {"language", "title", "text"}, "b": {...}}``
(``"published"``, an ISO 8601 time, is optional on either side); each output line
is ``{"id": ..., "score": float, "same_story": bool}``, in input order. Pairs are
read in batches so that every article of a batch is embedded in one call. Blank
lines are skipped; a malformed line stops the run with its line number.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from polynews.errors import ConfigError

if TYPE_CHECKING:
    from polynews.stories.similarity import StoryLinker, StoryText

# The embedder and the linker (numpy, the model runtime) are imported when a pair is read:
# this group is mounted on every ``polynews`` command.

app = typer.Typer(help="Stories: compare articles across outlets and languages.")


@app.callback()
def stories_group() -> None:
    """Stories: compare articles across outlets and languages."""


class PairError(ValueError):
    """One input line is not a valid pair; the message names the line."""


def parse_article(raw: Any, where: str) -> StoryText:
    """A :class:`StoryText` from one side of a pair; PairError says what is missing."""
    from polynews.stories.similarity import StoryText

    if not isinstance(raw, dict):
        raise PairError(f"{where}: expected an object with language, title and text")
    fields: dict[str, str] = {}
    for name in ("language", "title", "text"):
        value = raw.get(name, "")
        if not isinstance(value, str):
            raise PairError(f"{where}: {name!r} must be a string")
        fields[name] = value
    if not fields["language"]:
        raise PairError(f"{where}: 'language' is required")
    if not fields["title"] and not fields["text"]:
        raise PairError(f"{where}: needs a title or a text")
    published = raw.get("published")
    when: datetime | None = None
    if published is not None:
        try:
            when = datetime.fromisoformat(str(published))
        except ValueError as exc:
            raise PairError(f"{where}: 'published' is not an ISO 8601 time") from exc
    return StoryText(fields["language"], fields["title"], fields["text"], when)


def parse_pair(line: str, number: int) -> tuple[Any, StoryText, StoryText]:
    """``(id, a, b)`` from one JSON line."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise PairError(f"line {number}: not JSON ({exc.msg})") from exc
    if not isinstance(data, dict) or "id" not in data:
        raise PairError(f"line {number}: expected an object with 'id', 'a' and 'b'")
    return (
        data["id"],
        parse_article(data.get("a"), f"line {number}, a"),
        parse_article(data.get("b"), f"line {number}, b"),
    )


def _batches(lines: Iterable[str], size: int) -> Iterator[list[tuple[Any, StoryText, StoryText]]]:
    batch: list[tuple[Any, StoryText, StoryText]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        batch.append(parse_pair(line, number))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def run(linker: StoryLinker, source: Iterable[str], sink: TextIO, *, batch_size: int = 64) -> int:
    """Decide every pair of ``source`` and write one JSON line per pair; returns the count."""
    count = 0
    for batch in _batches(source, batch_size):
        decisions = linker.compare_pairs([(a, b) for _, a, b in batch])
        for (pair_id, _, _), decision in zip(batch, decisions, strict=True):
            record = {
                "id": pair_id,
                "score": round(decision.score, 6),
                "same_story": decision.same_story,
            }
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
        sink.flush()
        count += len(batch)
    return count


@app.command("compare")
def compare_cmd(
    threads: Annotated[
        int | None, typer.Option("--threads", help="Embedding threads (default: all cores).")
    ] = None,
    batch: Annotated[
        int, typer.Option("--batch", min=1, help="Pairs read and embedded together.")
    ] = 64,
) -> None:
    """Read pairs as JSON lines on stdin; write {"id", "score", "same_story"} per line."""
    from polynews.stories.embedder_e5 import E5Embedder
    from polynews.stories.similarity import StoryLinker

    try:
        linker = StoryLinker(E5Embedder(threads=threads))
        run(linker, sys.stdin, sys.stdout, batch_size=batch)
    except (PairError, ConfigError) as exc:
        typer.echo(f"polynews: error: {exc}", err=True)
        raise typer.Exit(2) from exc
