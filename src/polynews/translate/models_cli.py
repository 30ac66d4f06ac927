"""``polynews models``: list, install and remove translation models from the package index.

``install FROM TO`` installs one direction; ``install --site-languages`` installs what
every direction between the site languages needs, through English (X→en and en→Y),
skipping what is installed or already offered directly by another engine. Results go to
stdout, a progress bar (on a terminal) and logs to stderr. CTranslate2 (through
:mod:`.models`) is imported only when a command runs, so ``polynews --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from polynews.config import Settings
from polynews.errors import PolynewsError
from polynews.progress import NoProgress, Progress, TerminalProgress

if TYPE_CHECKING:
    from polynews.translate.base import Direction
    from polynews.translate.models import InstalledModel, PlanStep
    from polynews.translate.package_index import IndexPackage


def arrow(direction: Direction) -> str:
    """``en→de``: a direction as the messages write it."""
    return f"{direction[0]}→{direction[1]}"


def _fetch_index(settings: Settings) -> dict[Direction, IndexPackage]:
    """The package index (httpx and the download code load only when a command needs them)."""
    from polynews.translate.package_index import fetch_index

    return fetch_index(settings)


app = typer.Typer(
    help="Translation models (CTranslate2, Argos Translate packages): list, install, remove.",
    no_args_is_help=True,
)


@app.callback()
def models_group() -> None:
    """Translation models (CTranslate2, Argos Translate packages): list, install, remove."""


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"polynews: error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """A polynews error or a file-system error becomes one line on stderr and status 1."""
    try:
        yield
    except (PolynewsError, OSError) as exc:
        _fail(str(exc))


@contextmanager
def download_bars(enabled: bool | None = None) -> Iterator[Progress]:
    """A byte progress bar per download on stderr when it is a terminal, else nothing."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield NoProgress()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.progress import Progress as RichProgress

    columns = (
        TextColumn("{task.description:<8}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with RichProgress(*columns, console=Console(stderr=True)) as bars:
        yield TerminalProgress(bars)


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _code(value: str, what: str) -> str:
    code = value.strip().lower()
    if not (2 <= len(code) <= 3 and code.isascii() and code.isalpha()):
        raise typer.BadParameter(f"{value!r} is not a language code such as 'de'", param_hint=what)
    return code


def other_engines(settings: Settings) -> dict[Direction, str]:
    """Directions offered directly by a configured engine other than CTranslate2."""
    from polynews.translate.registry import load_backends

    names = tuple(n for n in settings.translation_backends if n != "ctranslate2")
    covered: dict[Direction, str] = {}
    for backend in load_backends(settings.replace(translation_backends=names)):
        for direction in sorted(backend.directions()):
            covered.setdefault(direction, backend.name)
    return covered


def _coverage_line(settings: Settings) -> str:
    from polynews.translate.models import PIVOT
    from polynews.translate.registry import load_backends
    from polynews.translate.router import Router

    router = Router.from_settings(settings, load_backends(settings))
    table = router.coverage(list(settings.languages))
    missing = [arrow(direction) for direction, route in table.items() if route is None]
    line = (
        f"{len(table) - len(missing)} of {len(table)} directions between the site languages "
        "covered (`polynews engines` shows the routes)"
    )
    if missing:
        line += f"; not covered: {', '.join(missing)}"
    if "ctranslate2" not in settings.translation_backends:
        line += "; note: ctranslate2 is not in translation_backends, so the models are not used"
    if PIVOT not in settings.translation_pivots:
        line += (
            f"; note: {PIVOT} is not in translation_pivots, so the router will not go "
            "through English"
        )
    return line


def _installed(settings: Settings) -> dict[Direction, InstalledModel]:
    from polynews.translate.models import installed_models

    found, _problems = installed_models(settings)
    return {model.direction: model for model in found}


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List installed models and, when the index answers, the packages it offers."""
    from polynews.errors import ModelError
    from polynews.translate.ctranslate2_backend import models_dir
    from polynews.translate.models import installed_models

    settings: Settings = ctx.obj
    with _errors():
        found, problems = installed_models(settings)
    index: dict[Direction, IndexPackage] | None = None
    index_error: str | None = None
    try:
        index = _fetch_index(settings)
    except ModelError as exc:
        index_error = str(exc)
    installed = {model.direction: model for model in found}
    if as_json:
        typer.echo(
            json.dumps(_listing(settings, installed, problems, index, index_error), indent=2)
        )
        return
    _print_installed(models_dir(settings), found, problems)
    if index is None:
        typer.echo(f"packages available: unknown, {index_error}", err=True)
        return
    _print_available(settings, installed, index)


def _mark(model: InstalledModel | None, offered: IndexPackage) -> str:
    from polynews.translate.models import up_to_date

    if model is None:
        return ""
    if up_to_date(model, offered):
        return "installed"
    return f"installed {model.package.version}, reinstall for {offered.version}"


def _listing(
    settings: Settings,
    installed: Mapping[Direction, InstalledModel],
    problems: list[str],
    index: Mapping[Direction, IndexPackage] | None,
    index_error: str | None,
) -> dict[str, Any]:
    """``models list --json``: the same facts as the table."""
    from polynews.translate.ctranslate2_backend import models_dir

    return {
        "models_dir": str(models_dir(settings)),
        "installed": [
            {
                "from": model.direction[0],
                "to": model.direction[1],
                "layout": model.package.layout,
                "version": model.package.version,
                "bytes": model.size,
                "path": str(model.package.origin),
            }
            for _, model in sorted(installed.items())
        ],
        "unusable": problems,
        "index_url": settings.models_index_url,
        "index_error": index_error,
        "available": None
        if index is None
        else [
            {
                "from": package.source,
                "to": package.target,
                "version": package.version,
                "names": package.names,
                "links": list(package.links),
                "installed": _mark(installed.get(direction), package),
            }
            for direction, package in sorted(index.items())
        ],
    }


def _print_installed(directory: Path, found: list[InstalledModel], problems: list[str]) -> None:

    typer.echo(f"installed in {directory}:")
    for model in sorted(found, key=lambda m: m.direction):
        package = model.package
        typer.echo(
            f"  {arrow(model.direction):<8} {package.layout:<8} {package.version:<10} "
            f"{_size(model.size):>9}  {package.origin.name}"
        )
    for problem in problems:
        typer.echo(f"  unusable: {problem}")
    if not found and not problems:
        typer.echo("  none")


def _print_available(
    settings: Settings,
    installed: Mapping[Direction, InstalledModel],
    index: Mapping[Direction, IndexPackage],
) -> None:

    typer.echo(f"\navailable from {settings.models_index_url}:")
    if not index:
        typer.echo("  none")
    for direction, offered in sorted(index.items()):
        mark = _mark(installed.get(direction), offered)
        row = f"  {arrow(direction):<8} {offered.names:<24} {offered.version:<10} {mark}"
        typer.echo(row.rstrip())


def _describe(step: PlanStep) -> str:
    if step.action == "installed":
        return f"already installed ({step.detail})"
    if step.action == "covered":
        return f"covered by {step.detail}"
    if step.action == "unavailable":
        return "not offered by the index"
    return f"in the index ({step.detail})"


def _no_direct_package(
    settings: Settings,
    direction: Direction,
    index: Mapping[Direction, IndexPackage],
    installed: Mapping[Direction, InstalledModel],
) -> NoReturn:
    from polynews.translate.models import PIVOT, plan_direction

    source, target = direction
    url = settings.models_index_url
    if PIVOT in direction:
        _fail(
            f"the index {url} has no {arrow(direction)} package (`polynews models list` shows it)"
        )
    others = other_engines(settings)
    steps = [
        plan_direction(hop, index, installed, others) for hop in ((source, PIVOT), (PIVOT, target))
    ]
    missing = [arrow(s.direction) for s in steps if s.action == "unavailable"]
    if missing:
        _fail(
            f"the index {url} has no {arrow(direction)} package, and no "
            f"{' nor '.join(missing)} to go through English"
        )
    hops = "; ".join(f"{arrow(s.direction)}: {_describe(s)}" for s in steps)
    commands = " and ".join(
        f"`polynews models install {s.direction[0]} {s.direction[1]}`"
        for s in steps
        if s.action == "install"
    )
    todo = f"run {commands}, or" if commands else "they are there already; or run"
    _fail(
        f"the index has no {arrow(direction)} package; through English, "
        f"{arrow((source, PIVOT))} and {arrow((PIVOT, target))} would serve it ({hops}): "
        f"{todo} `polynews models install --site-languages` to cover every direction between "
        "the site languages"
    )


@app.command("install")
def install_cmd(
    ctx: typer.Context,
    source: Annotated[
        str | None, typer.Argument(help="Language to translate from, e.g. de.")
    ] = None,
    target: Annotated[
        str | None, typer.Argument(help="Language to translate into, e.g. en.")
    ] = None,
    site_languages: Annotated[
        bool,
        typer.Option(
            "--site-languages",
            help="Install what every direction between the site languages needs, through "
            "English (X→en and en→Y); skips what is installed or covered by another engine.",
        ),
    ] = False,
) -> None:
    """Download, verify and install a model from the package index (models_index_url)."""
    settings: Settings = ctx.obj
    if site_languages:
        if source or target:
            raise typer.BadParameter("give FROM TO or --site-languages, not both")
        _install_site_languages(settings)
        return
    if not (source and target):
        raise typer.BadParameter("give FROM and TO (e.g. `de en`), or --site-languages")
    direction = (_code(source, "FROM"), _code(target, "TO"))
    if direction[0] == direction[1]:
        raise typer.BadParameter("FROM and TO are the same language")
    from polynews.errors import ModelError
    from polynews.translate.models import install_packages, up_to_date

    with _errors():
        installed = _installed(settings)
        model = installed.get(direction)
        try:
            index = _fetch_index(settings)
        except ModelError as exc:
            if model is None:
                raise
            # installed is installed; only a newer version would need the index
            typer.echo(f"cannot check for a newer version: {exc}", err=True)
            index = {}
        package = index.get(direction)
        if model is not None and up_to_date(model, package):
            typer.echo(
                f"{arrow(direction)} is already installed ({model.package.version}, "
                f"{model.package.origin}); nothing to do"
            )
            return
        if package is None:
            _no_direct_package(settings, direction, index, installed)
        with download_bars() as bars:
            report = install_packages(settings, [package], progress=bars)
    if report.failed:
        _fail(report.failed[0][1])
    done = report.installed[0]
    typer.echo(f"installed {arrow(direction)} {package.version} into {done.path}")


def _install_site_languages(settings: Settings) -> None:
    from polynews.translate.models import PIVOT, install_packages, site_language_plan

    with _errors():
        index = _fetch_index(settings)
        steps = site_language_plan(
            settings.languages, index, _installed(settings), other_engines(settings)
        )
    typer.echo(
        f"site languages {', '.join(settings.languages)}: every direction through English "
        f"({PIVOT}), so each language needs X→{PIVOT} and {PIVOT}→X"
    )
    for step in steps:
        if step.action != "install":
            typer.echo(f"  {arrow(step.direction):<8} {_describe(step)}, skipped")
    todo = [step.package for step in steps if step.package is not None]
    with _errors(), download_bars() as bars:
        report = install_packages(settings, todo, progress=bars)
    for done in report.installed:
        typer.echo(
            f"  {arrow(done.package.direction):<8} installed {done.package.version} "
            f"into {done.path}"
        )
    for package, reason in report.failed:
        typer.echo(f"  {arrow(package.direction):<8} FAILED: {reason}")
    typer.echo(
        f"{len(report.installed)} installed, {len(report.failed)} failed, "
        f"{len(steps) - len(todo)} skipped"
    )
    with _errors():
        typer.echo(_coverage_line(settings))
    if report.failed:
        raise typer.Exit(1)


@app.command("remove")
def remove_cmd(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="Language the model translates from.")],
    target: Annotated[str, typer.Argument(help="Language the model translates into.")],
) -> None:
    """Remove the installed model(s) for one direction from models_dir."""
    from polynews.translate.models import remove_model

    settings: Settings = ctx.obj
    direction = (_code(source, "FROM"), _code(target, "TO"))
    with _errors():
        removed = remove_model(settings, *direction)
    for path in removed:
        typer.echo(f"removed {arrow(direction)} ({path})")
