"""The ``polynews`` command line."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import signal
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup, TyperOption

from polynews.config import Settings, load_settings
from polynews.distributed import cli as distributed_cli
from polynews.errors import PolynewsError
from polynews.logs import configure_logging
from polynews.model import SourceKind
from polynews.stories.claims_cli import app as claims_app
from polynews.stories.compare_cli import app as stories_app
from polynews.translate.models_cli import app as models_app

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from polynews.language import LanguageDetector
    from polynews.pipeline import RunReport

# The pipeline, the store and the fetcher (SQLAlchemy, httpx, the dedup and story
# libraries) are imported by the commands that use them: ``polynews extract`` and
# ``polynews config`` start in a fraction of the time.

GLOBAL_OPTIONS = frozenset({"--data-dir", "--database-url", "--config", "--set", "--log-level"})


def hoist_global_options(group: TyperGroup, ctx: Any, args: list[str]) -> list[str]:
    """Move global options written after a subcommand to just before it.

    ``polynews demo --data-dir X`` becomes ``polynews --data-dir X demo``. The walk follows
    the command path, so a subcommand's own options keep their values (a value is never
    taken for a global option), an option of the subcommand's own that shares a global
    option's name stays the subcommand's, and nothing after ``--`` moves. Global options already
    before the subcommand stay first, so the later of two given values wins as usual.
    """
    command: object = group
    kept: list[str] = []
    hoisted: list[str] = []
    insert_at: int | None = None
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            kept += args[index - 1 :]
            break
        if arg.startswith("-") and arg != "-":
            name, has_value, _ = arg.partition("=")
            option = next(
                (
                    p
                    for p in getattr(command, "params", [])
                    if isinstance(p, TyperOption) and name in (*p.opts, *p.secondary_opts)
                ),
                None,
            )
            # a command's own option of the same name would win over the global one
            if name in GLOBAL_OPTIONS and command is not group and option is None:
                hoisted.append(arg)
                if not has_value:
                    if index == len(args):
                        raise typer.BadParameter("a value is required", ctx=ctx, param_hint=name)
                    hoisted.append(args[index])
                    index += 1
                continue
            kept.append(arg)
            takes_value = option is not None and not option.is_flag and not option.count
            if takes_value and not has_value and index < len(args):
                kept.append(args[index])
                index += 1
            continue
        if isinstance(command, TyperGroup):
            sub = command.get_command(ctx, arg)
            if sub is not None:
                if command is group:
                    insert_at = len(kept)
                command = sub
        kept.append(arg)
    if not hoisted or insert_at is None:
        return kept
    return [*kept[:insert_at], *hoisted, *kept[insert_at:]]


class GlobalOptionsGroup(TyperGroup):
    """The root command group: global options may also follow the subcommand."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Hoist global options given after a subcommand, then parse as usual."""
        return super().parse_args(ctx, hoist_global_options(self, ctx, args))


app = typer.Typer(
    cls=GlobalOptionsGroup,
    help="polynews: follow news in any language, deduplicate, translate, publish. "
    "Global options may come before or after the command.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
sources_app = typer.Typer(help="Add, list, remove, enable and disable sources; OPML import/export.")
app.add_typer(sources_app, name="sources")
app.add_typer(stories_app, name="stories")
app.add_typer(claims_app, name="claims")
app.add_typer(models_app, name="models")
for _command in (distributed_cli.worker, distributed_cli.scheduler, distributed_cli.jobs):
    app.command()(_command)


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data directory (default ./polynews-data).")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Database URL (default SQLite in data dir)."),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Path of polynews.toml.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a setting: NAME=VALUE (repeatable)."),
    ] = None,
    log_level: Annotated[str | None, typer.Option("--log-level", help="DEBUG, INFO, ...")] = None,
) -> None:
    """Global options shared by every command."""
    overrides: dict[str, Any] = {"data_dir": data_dir, "database_url": database_url}
    overrides["log_level"] = log_level
    for item in set_ or []:
        name, sep, value = item.partition("=")
        if not sep:
            _fail(f"--set expects NAME=VALUE, got {item!r}")
        overrides[name.strip()] = value
    try:
        settings = load_settings(config_file=config, overrides=overrides)
    except PolynewsError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(_operator_fault(exc, None) or f"cannot read the settings: {exc}")
    configure_logging(settings.log_level, settings.log_format)
    ctx.obj = settings


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"polynews: error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def _store(settings: Settings, *, read_only: bool = False) -> Iterator[Engine]:
    """The migrated database of ``settings``, disposed of afterwards.

    ``read_only`` commands (they only read) also work on an archive that cannot be written.
    """
    from polynews.store import open_store

    engine = open_store(settings, allow_read_only=read_only)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def _errors(settings: Settings | None = None) -> Iterator[None]:
    """Turn polynews errors and operator faults into one clear line and exit status 1.

    A full disk or a read-only data directory can surface anywhere a write happens, as an
    ``OSError`` or a SQLite error (often wrapped in a :class:`StoreError`): it is named as
    such, with the directory concerned, instead of a traceback. Input nested beyond
    Python's recursion limit is reported the same way.
    """
    try:
        yield
    except _reported_errors() as exc:
        fault = _operator_fault(exc, settings)
        database = sys.modules.get("sqlalchemy.exc")
        if fault is None and database is not None and isinstance(exc, database.OperationalError):
            fault = f"database error: {str(exc.orig).splitlines()[0]}"
        if fault is None and not isinstance(exc, PolynewsError):
            raise
        _fail(fault or _one_line(str(exc)), code=1)
    except RecursionError:
        _fail("the input is nested too deeply to be processed (Python's recursion limit)", 1)


def _reported_errors() -> tuple[type[Exception], ...]:
    """What :func:`_errors` reports: SQLAlchemy's errors only once a command loaded it."""
    caught: tuple[type[Exception], ...] = (PolynewsError, OSError, sqlite3.Error)
    database = sys.modules.get("sqlalchemy.exc")
    return (*caught, database.SQLAlchemyError) if database is not None else caught


def _one_line(message: str) -> str:
    return " ".join(message.split()) if "\n" in message else message


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, what it was raised from, and the driver error a SQLAlchemy error wraps."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None]
        todo += [current.__cause__, current.__context__]


def _no_free_space(directory: Path) -> bool:
    """True when the filesystem holding ``directory`` has no block left for polynews."""
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    try:
        stats = os.statvfs(directory)
    except OSError:
        return False
    return stats.f_bavail == 0


def _operator_fault(exc: BaseException, settings: Settings | None) -> str | None:
    """One line for a full disk or a read-only data directory behind ``exc``, else None."""
    from polynews.store.db import read_only_message, sqlite_path

    database = sqlite_path(settings.database) if settings is not None else None
    data_dir = database.parent if database is not None else None
    if data_dir is None and settings is not None:
        data_dir = settings.data_dir
    for cause in _causes(exc):
        where: Path | None = data_dir
        if isinstance(cause, OSError) and cause.filename:
            where = Path(str(cause.filename)).parent
        text = str(cause).lower()
        full = (isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT)) or (
            isinstance(cause, sqlite3.Error) and "disk is full" in text
        )
        if not full and (
            (isinstance(cause, OSError) and cause.errno == errno.EIO)
            or (isinstance(cause, sqlite3.Error) and "disk i/o error" in text)
        ):
            # SQLite reports a full disk met while growing its -shm/-wal files as an I/O error
            full = where is not None and _no_free_space(where)
        if full:
            place = f"the disk holding {where.resolve()}" if where is not None else "the disk"
            return f"{place} is full: free some space (or move --data-dir), then run again"
        if isinstance(cause, OSError) and cause.errno == errno.EFBIG:
            return f"a file in {where} reached the file size limit (ulimit -f): raise it"
        read_only = (isinstance(cause, OSError) and cause.errno == errno.EROFS) or (
            isinstance(cause, sqlite3.Error) and "readonly database" in text
        )
        if read_only:
            return read_only_message(where.resolve() if where is not None else Path("."))
        if isinstance(cause, PermissionError) and cause.filename:
            return f"permission denied: cannot write {cause.filename}"
    return None


@app.command("config")
def config_cmd(
    ctx: typer.Context,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the settings table (for the README).")
    ] = False,
) -> None:
    """Print the effective settings (secrets redacted) as TOML lines."""
    if markdown:
        from polynews.config import settings_table

        typer.echo(settings_table())
        return
    for name, value in _settings(ctx).redacted().items():
        typer.echo(f"{name} = {json.dumps(value, ensure_ascii=False)}")


# -- sources -------------------------------------------------------------------------------


@sources_app.command("add")
def sources_add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Feed, sitemap or page URL.")],
    kind: Annotated[SourceKind, typer.Option("--kind", help="What the URL is.")] = SourceKind.FEED,
    name: Annotated[
        str | None,
        typer.Option(
            help="Display name (default: the host name; for an address, the path's first words)."
        ),
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="Declared language (overrides detection).")
    ] = None,
    no_conditional_get: Annotated[
        bool, typer.Option("--no-conditional-get", help="Ignore ETag/Last-Modified (lying feeds).")
    ] = False,
    interval: Annotated[
        int | None, typer.Option(help="Seconds between fetches (default: poll_interval).")
    ] = None,
) -> None:
    """Register a source."""
    from polynews.store import sources as source_store

    with _errors(_settings(ctx)), _store(_settings(ctx)) as engine:
        source = source_store.add_source(
            engine,
            kind=kind,
            url=url,
            name=name,
            language=language,
            conditional_get=not no_conditional_get,
            poll_interval=interval,
        )
    typer.echo(f"added source {source.id}: {source.kind.value} {source.url}")


@sources_app.command("list")
def sources_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List sources with their last fetch, status, error and counts."""
    from polynews.store import sources as source_store

    with _errors(_settings(ctx)), _store(_settings(ctx), read_only=True) as engine:
        rows = source_store.list_sources(engine)
    if as_json:
        data = [{**asdict(s), "kind": s.kind.value} for s in rows]
        typer.echo(json.dumps(data, default=str, ensure_ascii=False, indent=2))
        return
    for s in rows:
        state = "enabled" if s.enabled else "disabled"
        last = s.last_fetch_at.strftime("%Y-%m-%d %H:%M") if s.last_fetch_at else "never"
        typer.echo(
            f"{s.id:>4}  {s.kind.value:<7} {state:<8} {s.name}  {s.url}\n"
            f"      last fetch {last}, status {s.last_status or '-'}, "
            f"{s.article_count} articles, {s.error_count} errors"
        )
        if s.last_error:
            typer.echo(f"      last error: {s.last_error}")


@sources_app.command("remove")
def sources_remove(
    ctx: typer.Context, ref: Annotated[str, typer.Argument(help="Source id or URL.")]
) -> None:
    """Forget a source (its articles stay)."""
    from polynews.store import sources as source_store

    with _errors(_settings(ctx)), _store(_settings(ctx)) as engine:
        source = source_store.remove_source(engine, ref)
    typer.echo(f"removed source {source.id}: {source.url}")


@sources_app.command("enable")
def sources_enable(
    ctx: typer.Context, ref: Annotated[str, typer.Argument(help="Source id or URL.")]
) -> None:
    """Enable a source."""
    from polynews.store import sources as source_store

    with _errors(_settings(ctx)), _store(_settings(ctx)) as engine:
        source = source_store.set_enabled(engine, ref, True)
    typer.echo(f"enabled source {source.id}")


@sources_app.command("disable")
def sources_disable(
    ctx: typer.Context, ref: Annotated[str, typer.Argument(help="Source id or URL.")]
) -> None:
    """Disable a source (kept, not fetched)."""
    from polynews.store import sources as source_store

    with _errors(_settings(ctx)), _store(_settings(ctx)) as engine:
        source = source_store.set_enabled(engine, ref, False)
    typer.echo(f"disabled source {source.id}")


@sources_app.command("import")
def sources_import(
    ctx: typer.Context, path: Annotated[Path, typer.Argument(help="OPML file.", exists=True)]
) -> None:
    """Add every feed of an OPML file (known URLs are skipped)."""
    from polynews.ingest.opml import parse_opml
    from polynews.store import sources as source_store

    with _errors(_settings(ctx)), _store(_settings(ctx)) as engine:
        outlines = parse_opml(path.read_bytes())
        added = skipped = 0
        for outline in outlines:
            try:
                source_store.add_source(
                    engine,
                    kind=SourceKind.FEED,
                    url=outline.xml_url,
                    name=outline.title,
                    language=outline.language,
                )
                added += 1
            except PolynewsError as exc:
                skipped += 1
                typer.echo(f"skipped {outline.xml_url}: {exc}", err=True)
    typer.echo(f"imported {added} sources from {path} ({skipped} skipped)")


@sources_app.command("export")
def sources_export(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(help="Output file (default stdout).")] = None,
) -> None:
    """Write the feed sources as OPML 2.0."""
    from polynews.ingest.opml import OpmlOutline, write_opml
    from polynews.store import sources as source_store

    with _errors(_settings(ctx)), _store(_settings(ctx), read_only=True) as engine:
        outlines = [
            OpmlOutline(xml_url=s.url, title=s.name, language=s.language)
            for s in source_store.list_sources(engine)
            if s.kind is SourceKind.FEED
        ]
        data = write_opml(outlines, title="polynews sources")
    if path is None:
        sys.stdout.write(data.decode("utf-8"))
    else:
        path.write_bytes(data)
        typer.echo(f"exported {len(outlines)} feeds to {path}")


# -- the pipeline --------------------------------------------------------------------------


def _print_report(report: RunReport) -> None:
    """The one-line summary of a pass, on stdout (logs go to stderr)."""
    typer.echo(
        f"{report.sources} sources fetched ({report.source_errors} failed), "
        f"{report.discovered} new article URLs, {report.fetched} pages fetched "
        f"({report.fetch_errors} failed), {report.extracted} extracted "
        f"({report.extract_errors} failed), {report.ready} published, "
        f"{report.duplicates} duplicates linked, "
        f"{report.stories.joined + report.stories.founded} placed in stories "
        f"({report.stories.founded} new, {report.stories.merged} merged), "
        f"{report.stories.claims} claims"
    )


@app.command()
def fetch(
    ctx: typer.Context,
    all_sources: Annotated[
        bool, typer.Option("--all", help="Fetch every enabled source, due or not.")
    ] = False,
) -> None:
    """Run one pass over all due sources and exit."""
    from polynews.pipeline import run_pass

    with _errors(_settings(ctx)):
        report = asyncio.run(run_pass(_settings(ctx), force=all_sources))
    _print_report(report)


@app.command()
def reextract(ctx: typer.Context) -> None:
    """Re-extract every archived page (no re-fetching), then deduplicate again."""
    from polynews.pipeline import run_pass
    from polynews.store import articles as article_store

    with _errors(_settings(ctx)):
        settings = _settings(ctx)
        with _store(settings) as engine:
            n = article_store.reset_for_reextract(engine)
        typer.echo(f"re-extracting {n} archived pages", err=True)
        report = asyncio.run(run_pass(settings, reextract=True))
    _print_report(report)


@app.command()
def run(ctx: typer.Context) -> None:
    """Poll sources on their schedule and process continuously (Ctrl-C stops)."""
    from polynews.pipeline import open_pipeline

    settings = _settings(ctx)

    async def forever() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with open_pipeline(settings, progress=False) as pipeline:
            await pipeline.run_forever(stop)

    with _errors(_settings(ctx)):
        from polynews.metrics import serve_metrics

        serve_metrics(settings)  # on metrics_port, when set
        asyncio.run(forever())


@app.command()
def stats(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Counts of sources, articles, duplicates, errors and languages."""
    from polynews.store import articles as article_store

    with _errors(_settings(ctx)), _store(_settings(ctx), read_only=True) as engine:
        data = article_store.stats(engine)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    typer.echo(stats_table(data))


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for workers' answers.")] = 1.0,
) -> None:
    """Queue depths, live workers, per-stage rates and backlog; exit 1 if the broker is down."""
    from polynews.status import collect, render, to_json

    with _errors(_settings(ctx)), _store(_settings(ctx), read_only=True) as engine:
        data = collect(_settings(ctx), engine, timeout=timeout)
    typer.echo(to_json(data) if as_json else render(data))
    if data["broker"] is not None and not data["broker"]["reachable"]:
        raise typer.Exit(1)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Lines of a plain text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    out = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def stats_table(data: dict[str, Any]) -> str:
    """``polynews stats`` as a table a person reads (``--json`` has the same numbers)."""
    stories = data.get("stories") or {}
    lines = [
        f"sources       {data['sources']:>7}  ({data['sources_with_errors']} with errors)",
        f"articles      {data['articles']:>7}  published",
        f"duplicates    {data['duplicates']:>7}  linked to an earlier article",
        f"errors        {data['errors']:>7}  recorded (sources and pages)",
        f"stories       {stories.get('count', 0):>7}  "
        f"({stories.get('multi_outlet', 0)} reported by more than one outlet)",
        f"claims        {data.get('claims', 0):>7}",
    ]
    largest = stories.get("largest")
    if largest:
        lines.append(
            f"largest story: {largest['outlets']} outlets, {largest['languages']} languages, "
            f"{largest['articles']} articles"
        )
    by_status = data.get("by_status") or {}
    if by_status:
        lines += ["", "articles by status"]
        lines += _table(["status", "articles"], [[k, str(v)] for k, v in by_status.items()])
    by_language = data.get("by_language") or {}
    if by_language:
        lines += ["", "published articles by language"]
        lines += _table(["language", "articles"], [[k, str(v)] for k, v in by_language.items()])
    translations: dict[str, dict[str, int]] = data.get("translations") or {}
    lines += ["", "translations by target language and status"]
    if translations:
        statuses = sorted({status for counts in translations.values() for status in counts})
        rows = [
            [lang, *(str(counts.get(s, 0)) for s in statuses), str(sum(counts.values()))]
            for lang, counts in sorted(translations.items())
        ]
        lines += _table(["language", *statuses, "total"], rows)
    else:
        lines.append("  none yet")
    return "\n".join(lines)


@app.command()
def extract(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="An HTML file, or an http(s) URL to fetch.")],
) -> None:
    """Extract one article and print it as JSON (title, author, published, ..., paragraphs)."""
    from concurrent.futures import ThreadPoolExecutor

    settings = _settings(ctx)
    # The language model takes half a second to load, mostly decompressing outside the
    # GIL: it loads in a thread while the extraction code is imported and runs.
    with ThreadPoolExecutor(max_workers=1) as pool, _errors(settings):
        detector = pool.submit(_language_detector, settings)
        from polynews.ingest.extract import article_to_json, extract_article

        if target.startswith(("http://", "https://")):
            from polynews.ingest.fetcher import Fetcher

            async def get() -> tuple[bytes, str, str | None]:
                async with Fetcher(settings) as fetcher:
                    result = await fetcher.fetch(target, accept="html")
                return result.body, result.final_url, result.encoding

            body, url, encoding = asyncio.run(get())
        else:
            path = Path(target)
            if not path.is_file():
                _fail(f"{target} is neither a file nor an http(s) URL")
            body, url, encoding = path.read_bytes(), path.resolve().as_uri(), None
        article = extract_article(body, url=url, encoding=encoding)
        detected, _confidence = detector.result().detect(
            " ".join([article.title or "", *article.paragraphs])[:1500]
        )
        data = article_to_json(article)
        data["language"] = detected or data.get("language")
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _language_detector(settings: Settings) -> LanguageDetector:
    """The language detector of ``settings`` (imported here: it loads numpy)."""
    from polynews.language import LanguageDetector

    return LanguageDetector(settings.detect_languages)


def engines_hint(settings: Settings) -> str:
    """Two lines on how to add a translation engine, for ``polynews engines``."""
    from polynews.translate.ctranslate2_backend import models_dir

    return (
        "\nTo add an engine: `polynews models install --site-languages` installs neural models "
        f"into {models_dir(settings)} (models_dir),\n"
        "or set libretranslate_url, or openai_base_url and openai_model "
        "(--set NAME=VALUE or polynews.toml)."
    )


@app.command()
def engines(ctx: typer.Context) -> None:
    """Print the coverage matrix: which engine and route translates each direction."""
    from polynews.translate.translator import render_coverage

    with _errors(_settings(ctx)):
        typer.echo(render_coverage(_settings(ctx)))
        typer.echo(engines_hint(_settings(ctx)))


@app.command("translate")
def translate_cmd(
    ctx: typer.Context,
    source: Annotated[str, typer.Option("--from", help="Source language, e.g. fr.")],
    target: Annotated[str, typer.Option("--to", help="Target language, e.g. en.")],
    explain: Annotated[
        bool, typer.Option("--explain", help="Print the route used on stderr.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Ignore the translation memory and refresh it.")
    ] = False,
) -> None:
    """Translate stdin to stdout line by line (as many lines out as in)."""
    from polynews.translate.translator import translate_lines

    settings = _settings(ctx)
    with _errors(_settings(ctx)), _store(settings) as engine:
        for line in translate_lines(
            settings, sys.stdin, source, target, explain, engine=engine, force=force
        ):
            if explain and line.startswith("# route: "):
                typer.echo(line, err=True)
                explain = False
                continue
            sys.stdout.write(line + "\n")
            sys.stdout.flush()


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the site, JSON API and feeds from the data directory."""
    from polynews.web.server import serve as serve_site

    with _errors(_settings(ctx)):
        serve_site(_settings(ctx), host=host, port=port)


@app.command()
def export(
    ctx: typer.Context,
    out_dir: Annotated[Path, typer.Argument(help="Directory to write the static site into.")],
    base_url: Annotated[
        str, typer.Option("--base-url", help="Public URL the site will be served from.")
    ],
) -> None:
    """Write the whole site (pages, feeds, sitemap, assets) as static files."""
    from polynews.web.export import export_site

    with _errors(_settings(ctx)):
        report = export_site(_settings(ctx), out_dir, base_url)
    typer.echo(str(report))


@app.command()
def demo(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Ingest, print the summary, exit.")] = False,
    host: Annotated[str, typer.Option(help="Address the site listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the site.")] = 8000,
    newsroom_port: Annotated[
        int, typer.Option(help="Port of the demo newsroom (0 picks a free one).")
    ] = 8765,
) -> None:
    """Start the bundled demo newsroom, ingest it into a fresh data directory, then serve."""
    from polynews.demo.run import run_demo

    with _errors(_settings(ctx)):
        code = run_demo(
            _settings(ctx), once=once, host=host, port=port, newsroom_port=newsroom_port
        )
    raise typer.Exit(code)


if __name__ == "__main__":  # pragma: no cover
    app()
