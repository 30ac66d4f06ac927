"""Translation models in ``models_dir``: verify, install and remove packages from the index.

A download (see :mod:`.package_index`: complete, within ``models_max_bytes``, through the
SSRF guard) is verified before anything is installed:

* equal to the index's checksum when it gives one;
* a readable zip (every member's CRC is checked while unpacking), no member outside the
  package, no more than ``MAX_UNPACKED_BYTES`` unpacked;
* an Argos package whose ``metadata.json`` names the requested direction;
* a CTranslate2 model and SentencePiece model that the backend opens.

It is unpacked into a hidden directory inside ``models_dir`` (the same filesystem; the
backend skips names starting with a dot), checked there, then renamed to
``models_dir/translate-<from>_<to>``; a failure removes the hidden directory, so a bad
package leaves nothing installed, and an older version is replaced only once the new one
has passed. The backend reads ``models_dir`` at start-up, so the next command
(``polynews engines``, ``polynews translate``, a new ``polynews run``) uses it.
:func:`site_language_plan` says what every direction between the site languages needs,
English being the pivot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import tempfile
import time
import uuid
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit

from polynews.config import Settings
from polynews.errors import ModelError, TranslateError
from polynews.progress import NoProgress, Progress
from polynews.translate.base import Direction
from polynews.translate.ctranslate2_backend import (
    MAX_UNPACKED_BYTES,
    CTranslate2Backend,
    ModelPackage,
    discover_models,
    models_dir,
    read_argos_dir,
    require_runtime,
)
from polynews.translate.package_index import IndexClient, IndexPackage, arrow, download

log = logging.getLogger(__name__)

PIVOT = "en"
"""The language every site direction goes through when no direct package exists."""

INSTALL_RECORD = ".polynews-install.json"
"""Written inside an installed package: where it came from, its version and checksum."""


# -- verification -----------------------------------------------------------------------------


def _unpack(archive: Path, into: Path, what: str) -> Path:
    """Unzip a downloaded package into ``into``; return the directory holding metadata.json."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            total = sum(member.file_size for member in members)
            if total > MAX_UNPACKED_BYTES:
                raise ModelError(
                    f"{what} unpacks to {total} bytes, more than the {MAX_UNPACKED_BYTES} "
                    "allowed; refused"
                )
            for member in members:
                name = PurePosixPath(member.filename)
                if name.is_absolute() or ".." in name.parts:
                    raise ModelError(
                        f"{what} has a member outside the package ({member.filename!r}); refused"
                    )
            # extractall checks each member's CRC-32 as it goes: a corrupt member raises
            zf.extractall(into)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as exc:
        raise ModelError(
            f"{what} is not a valid .argosmodel package (a zip file): {exc}; "
            "it is corrupt or truncated, refused"
        ) from exc
    if (into / "metadata.json").is_file():
        return into
    tops = [p for p in into.iterdir() if p.is_dir() and (p / "metadata.json").is_file()]
    if len(tops) != 1:
        raise ModelError(f"{what} has no metadata.json at its top; it is not an Argos package")
    return tops[0]


def verify_package(
    archive: Path,
    package: IndexPackage,
    sha256: str,
    workdir: Path,
    link: str,
    settings: Settings,
) -> tuple[Path, ModelPackage]:
    """Check a downloaded package; return its unpacked directory and description.

    Raises :class:`ModelError` on a checksum mismatch, a corrupt or unsafe zip, metadata
    naming another direction, or a model CTranslate2 or SentencePiece cannot open.
    """
    label = arrow(package.direction)
    what = f"the {label} package from {link}"
    if package.sha256 is not None and sha256 != package.sha256:
        raise ModelError(
            f"{what} fails its checksum (SHA-256 {sha256}, the index says {package.sha256}); "
            "refused"
        )
    root = _unpack(archive, workdir, what)
    name = PurePosixPath(urlsplit(link).path).name or package.code
    try:
        model = read_argos_dir(root, origin=Path(name))
    except TranslateError as exc:
        raise ModelError(f"{what} is not a usable model: {exc}") from exc
    if model.direction != package.direction:
        raise ModelError(
            f"{what} is for {arrow(model.direction)} (its metadata.json says so), "
            f"not {label}; refused"
        )
    backend = CTranslate2Backend(
        [model],
        device=settings.ctranslate2_device,
        compute_type=settings.ctranslate2_compute_type,
        intra_threads=1,
        max_loaded=1,
    )
    problems = backend.check()
    if problems:
        raise ModelError(f"{what} cannot be loaded: {problems[0]}")
    return root, model


# -- installed models -------------------------------------------------------------------------


@dataclass(frozen=True)
class InstalledModel:
    """A model found in ``models_dir``."""

    package: ModelPackage
    size: int  # bytes on disk
    record: Mapping[str, Any] = field(default_factory=dict)  # INSTALL_RECORD, when we installed it

    @property
    def direction(self) -> Direction:
        """The (source, target) pair the model translates."""
        return self.package.direction


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _cache_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "cache" / "ctranslate2"


def installed_models(settings: Settings) -> tuple[list[InstalledModel], list[str]]:
    """The models in ``models_dir`` (without loading them), and why the others are unusable."""
    packages, problems = discover_models(models_dir(settings), _cache_dir(settings))
    found = []
    for package in packages:
        record: dict[str, Any] = {}
        path = package.origin / INSTALL_RECORD
        if package.origin.is_dir() and path.is_file():
            try:
                loaded = json.loads(path.read_text("utf-8"))
                record = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                record = {}
        found.append(InstalledModel(package, _size(package.origin), record))
    return found, problems


def _replace(new: Path, target: Path) -> None:
    """Move ``new`` to ``target``; an older copy there is moved aside first, then deleted."""
    old: Path | None = None
    if target.exists() or target.is_symlink():
        old = target.with_name(f".removing-{target.name}-{uuid.uuid4().hex[:8]}")
        target.rename(old)
    try:
        new.rename(target)
    except OSError:
        if old is not None:
            old.rename(target)  # put the working copy back
        raise
    if old is not None:
        _delete(old)


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


STALE_AFTER = 3600.0
"""Seconds after which a hidden work directory is taken as left over by an interrupted run."""


def _sweep(directory: Path) -> None:
    """Delete the work directories an interrupted install or remove left behind."""
    if not directory.is_dir():
        return
    cutoff = time.time() - STALE_AFTER
    for entry in directory.iterdir():
        if entry.name.startswith((".installing-", ".removing-")):
            try:
                stale = entry.lstat().st_mtime < cutoff
            except OSError:
                continue
            if stale:
                log.info("leftover removed path=%s", entry)
                _delete(entry)


def remove_model(settings: Settings, source: str, target: str) -> list[Path]:
    """Remove every model of ``models_dir`` for ``source→target``; return what was removed.

    The default ``<data_dir>/models`` is removed too once it is empty.
    """
    directory = models_dir(settings)
    installed, _problems = installed_models(settings)
    found = [m for m in installed if m.direction == (source, target)]
    if not found:
        offered = ", ".join(sorted(arrow(m.direction) for m in installed)) or "none"
        raise ModelError(
            f"no model for {source}→{target} in {directory} (installed: {offered}); nothing removed"
        )
    removed = []
    for model in found:
        origin = model.package.origin
        # renamed first, so a backend starting meanwhile sees the model whole or not at all
        trash = origin.with_name(f".removing-{origin.name}-{uuid.uuid4().hex[:8]}")
        origin.rename(trash)
        _delete(trash)
        if origin.suffix == ".argosmodel":
            for copy in _cache_dir(settings).glob(f"{origin.stem}-*"):
                _delete(copy)
        removed.append(origin)
        log.info("model removed lang=%s-%s path=%s", source, target, origin)
    _drop_if_empty(settings)
    return removed


def _drop_if_empty(settings: Settings) -> None:
    """Remove the default ``<data_dir>/models`` when it holds nothing.

    Without it the backend is simply not configured (one debug line), rather than
    configured with no model (a warning on every command). A ``models_dir`` the operator
    set stays.
    """
    directory = models_dir(settings)
    if not settings.models_dir and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()


# -- installing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Installed:
    """The outcome of installing one package."""

    package: IndexPackage
    path: Path
    link: str
    sha256: str


def install_dir_name(direction: Direction) -> str:
    """The directory a package for ``direction`` is installed as (one per direction)."""
    return f"translate-{direction[0]}_{direction[1]}"


async def _install_one(
    http: IndexClient, settings: Settings, package: IndexPackage, progress: Progress
) -> Installed:
    directory = models_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    for link in package.links:
        # hidden (the backend skips it) and on the same filesystem (the final rename is atomic)
        work = Path(tempfile.mkdtemp(prefix=".installing-", dir=directory))
        try:
            archive = work / "package.argosmodel"
            sha256 = await download(
                http, link, package, archive, settings.models_max_bytes, progress
            )
            root, _model = verify_package(
                archive, package, sha256, work / "unpacked", link, settings
            )
            record = {
                "from_code": package.source,
                "to_code": package.target,
                "package_version": package.version,
                "code": package.code,
                "link": link,
                "sha256": sha256,
                "index_url": settings.models_index_url,
                "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            (root / INSTALL_RECORD).write_text(json.dumps(record, indent=2) + "\n", "utf-8")
            target = directory / install_dir_name(package.direction)
            _replace(root, target)
        except ModelError as exc:
            errors.append(str(exc))
            # the caller reports the failure; other links may still work
            log.debug(
                "model package refused lang=%s-%s url=%s reason=%s",
                package.source,
                package.target,
                link,
                exc,
            )
            continue
        finally:
            shutil.rmtree(work, ignore_errors=True)
        log.info(
            "model installed lang=%s-%s version=%s path=%s",
            package.source,
            package.target,
            package.version,
            target,
        )
        return Installed(package, target, link, sha256)
    if len(errors) == 1:
        raise ModelError(errors[0])
    raise ModelError(f"all {len(errors)} links failed: " + "; ".join(errors))


@dataclass
class InstallReport:
    """What :func:`install_packages` did, package by package."""

    installed: list[Installed] = field(default_factory=list)
    failed: list[tuple[IndexPackage, str]] = field(default_factory=list)


def install_packages(
    settings: Settings,
    packages: Sequence[IndexPackage],
    *,
    progress: Progress | None = None,
) -> InstallReport:
    """Download, verify and install ``packages`` one after the other.

    A package that fails is recorded with its one-line reason and the others go on; it
    leaves nothing in ``models_dir``.
    """
    try:
        require_runtime()
    except TranslateError as exc:
        raise ModelError(f"cannot check downloaded models: {exc}") from exc
    progress = progress or NoProgress()
    report = InstallReport()
    _sweep(models_dir(settings))

    async def run() -> None:
        http = IndexClient(settings)
        try:
            for package in packages:
                try:
                    report.installed.append(await _install_one(http, settings, package, progress))
                except ModelError as exc:
                    report.failed.append((package, str(exc)))
        finally:
            await http.aclose()

    try:
        asyncio.run(run())
    finally:
        _drop_if_empty(settings)  # nothing installed: leave no empty directory behind
    return report


# -- planning ---------------------------------------------------------------------------------

Action = Literal["install", "installed", "covered", "unavailable"]


@dataclass(frozen=True)
class PlanStep:
    """What to do about one direction: install it, or why not."""

    direction: Direction
    action: Action
    detail: str = ""  # the engine covering it, or the installed model's version/origin
    package: IndexPackage | None = None


def up_to_date(model: InstalledModel, package: IndexPackage | None) -> bool:
    """Whether ``model`` needs no install from ``package``.

    A model the operator placed by hand (no install record) is left alone; one installed
    from the index is replaced when the index offers another version.
    """
    if package is None or not model.record:
        return True
    return str(model.record.get("package_version", "")) == package.version


def plan_direction(
    direction: Direction,
    index: Mapping[Direction, IndexPackage],
    installed: Mapping[Direction, InstalledModel],
    others: Mapping[Direction, str],
) -> PlanStep:
    """The step for one direction: installed, covered by another engine, in the index, or not."""
    package = index.get(direction)
    model = installed.get(direction)
    if model is not None and up_to_date(model, package):
        version = model.package.version
        return PlanStep(direction, "installed", f"{version} in {model.package.origin}")
    if direction in others:
        return PlanStep(direction, "covered", others[direction])
    if package is None:
        return PlanStep(direction, "unavailable")
    return PlanStep(direction, "install", package.version, package)


def site_language_plan(
    languages: Iterable[str],
    index: Mapping[Direction, IndexPackage],
    installed: Mapping[Direction, InstalledModel],
    others: Mapping[Direction, str],
) -> list[PlanStep]:
    """Steps so that every direction between ``languages`` is covered through English.

    Each language other than English needs X→en and en→X; a direction already installed
    or offered directly by another engine (``others``: direction → engine name) is skipped.
    """
    steps = []
    for language in dict.fromkeys(languages):
        if language == PIVOT:
            continue
        for direction in ((language, PIVOT), (PIVOT, language)):
            steps.append(plan_direction(direction, index, installed, others))
    return steps


__all__ = [
    "INSTALL_RECORD",
    "PIVOT",
    "InstallReport",
    "Installed",
    "InstalledModel",
    "PlanStep",
    "install_dir_name",
    "install_packages",
    "installed_models",
    "plan_direction",
    "remove_model",
    "site_language_plan",
    "up_to_date",
    "verify_package",
]
