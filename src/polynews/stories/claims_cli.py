"""``polynews claims extract --lang L``: attributed claims of text on stdin, as JSON lines.

The lead mounts :data:`app` on the main command line with
``app.add_typer(claims_app, name="claims")``.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from polynews.stories.claims import LANGUAGES, extract_claims_lines

app = typer.Typer(help="Attributed claims: who says which figures.", no_args_is_help=True)


@app.callback()
def claims() -> None:
    """Attributed claims: who says which figures (en, es, de, fr, it, uk, ru)."""


@app.command("extract")
def extract(
    lang: Annotated[
        str, typer.Option("--lang", help=f"Language of the text: {', '.join(LANGUAGES)}.")
    ],
) -> None:
    """Read text (one paragraph per line) on stdin; write one JSON line per attributed statement.

    Each line is {"line", "sentence", "source", "cue", "content", "quantities": [{"text",
    "value", "unit", "qualifier"}]}; "line" is the 1-based number of the input line.
    """
    if lang not in LANGUAGES:
        typer.echo(
            f"polynews: error: claims: unsupported language {lang!r}; "
            f"use one of {', '.join(LANGUAGES)}",
            err=True,
        )
        raise typer.Exit(2)
    out = sys.stdout
    for claim in extract_claims_lines(sys.stdin, lang):
        out.write(json.dumps(claim, ensure_ascii=False) + "\n")
    out.flush()


__all__ = ["app"]
