"""Translation models from an Argos Translate package index: read, verify, install, remove.

The index (``models_index_url``, by default Argos Translate's public one) is a JSON list
of packages, each an object with ``from_code``, ``to_code``, ``package_version``,
``links`` (download URLs, tried in order), ``code`` and optionally ``type`` (only
``"translate"`` packages are models) and a SHA-256 checksum (``sha256`` or ``checksum``,
hex, optionally prefixed ``sha256:``; Argos's own index gives none today).

A download is verified before anything is installed:

* complete: the bytes received match ``Content-Length``, and a connection closed early
  is an error, never a shorter file;
* within ``models_max_bytes``;
* equal to the index's checksum when it gives one;
* a readable zip (every member's CRC is checked while unpacking), no member outside the
  package, no more than ``MAX_UNPACKED_BYTES`` unpacked;
* an Argos package whose ``metadata.json`` names the requested direction;
* a CTranslate2 model and SentencePiece model that the backend opens.

It is unpacked into a hidden directory inside ``models_dir`` (the same filesystem; the
backend skips names starting with a dot), checked there, then renamed to
``models_dir/translate-<from>_<to>``; a failure removes the hidden directory, so a bad
package leaves nothing installed. The backend reads ``models_dir`` at start-up, so the next
command (``polynews engines``, ``polynews translate``, a new ``polynews run``) uses it.

Every request goes through the SSRF guard (:mod:`polynews.ingest.ssrf`) like the fetcher's:
the index URL is the operator's, but the links inside it are not, and a hostile index must
not reach the machine's own network. A mirror on a private or loopback address therefore
needs its network in ``allow_private_networks`` (the tests allow ``127.0.0.0/8``).
Connecting takes at most ``connect_timeout`` and each read ``read_timeout``; there is no
total limit, since a large model on a slow line takes long, but not silently.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import shutil
import tempfile
import time
import uuid
import zipfile
import zlib
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from polynews.config import Settings
from polynews.errors import FetchError, ModelError, TranslateError
from polynews.ingest.ssrf import AddressPolicy, GuardedTransport, UrlGuard
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

log = logging.getLogger(__name__)

PIVOT = "en"
"""The language every site direction goes through when no direct package exists."""

INSTALL_RECORD = ".polynews-install.json"
"""Written inside an installed package: where it came from, its version and checksum."""

_CODE = re.compile(r"^[a-z]{2,3}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def arrow(direction: Direction) -> str:
    """``de→en``."""
    return f"{direction[0]}→{direction[1]}"


# -- the index ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexPackage:
    """One translation package the index offers."""

    source: str
    target: str
    version: str
    links: tuple[str, ...]
    code: str
    source_name: str = ""
    target_name: str = ""
    sha256: str | None = None

    @property
    def direction(self) -> Direction:
        """The (source, target) pair the package translates."""
        return (self.source, self.target)

    @property
    def names(self) -> str:
        """``German → English`` (or the codes when the index gives no names)."""
        return f"{self.source_name or self.source} → {self.target_name or self.target}"


def version_key(version: str) -> tuple[int, ...]:
    """``"1.10"`` as ``(1, 10)``, so versions compare as numbers."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


def parse_index(data: bytes, url: str) -> dict[Direction, IndexPackage]:
    """The translation packages of an index document, the newest one per direction.

    Entries that are not translation packages (``type`` other than ``translate``), or
    that lack usable codes, http(s) links or a well-formed checksum, are skipped with a
    log line; a document that is not a JSON list is a :class:`ModelError`.
    """
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"the model index {url} is not valid JSON ({exc})") from exc
    if not isinstance(raw, list):
        raise ModelError(f"the model index {url} is not a JSON list of packages")
    found: dict[Direction, IndexPackage] = {}
    for position, item in enumerate(raw):
        entry = _index_entry(item, url, position)
        if entry is None:
            continue
        kept = found.get(entry.direction)
        if kept is None or version_key(entry.version) > version_key(kept.version):
            found[entry.direction] = entry
    return found


def _index_entry(item: Any, url: str, position: int) -> IndexPackage | None:
    if not isinstance(item, dict) or str(item.get("type", "translate")) != "translate":
        return None
    source, target = item.get("from_code"), item.get("to_code")
    reason = ""
    if not (isinstance(source, str) and isinstance(target, str)):
        reason = "no from_code/to_code"
    elif not (_CODE.match(source) and _CODE.match(target)) or source == target:
        reason = f"unusable codes {source!r} and {target!r}"
    links = item.get("links")
    usable = tuple(
        link
        for link in (links if isinstance(links, list) else [])
        if isinstance(link, str) and urlsplit(link).scheme in ("http", "https")
    )
    if not reason and not usable:
        reason = "no http(s) link"
    checksum = item.get("sha256", item.get("checksum"))
    sha256: str | None = None
    if not reason and checksum is not None:
        sha256 = str(checksum).strip().lower().removeprefix("sha256:")
        if not _SHA256.match(sha256):
            reason = f"checksum {checksum!r} is not a SHA-256 hex digest"
    if reason:
        log.warning("model index entry skipped url=%s entry=%d reason=%s", url, position, reason)
        return None
    assert isinstance(source, str) and isinstance(target, str)
    return IndexPackage(
        source=source,
        target=target,
        version=str(item.get("package_version") or ""),
        links=usable,
        code=str(item.get("code") or f"translate-{source}_{target}"),
        source_name=str(item.get("from_name") or ""),
        target_name=str(item.get("to_name") or ""),
        sha256=sha256,
    )


# -- HTTP -------------------------------------------------------------------------------------


class _Http:
    """GETs through the SSRF guard; redirects are followed by hand so each hop is checked."""

    def __init__(self, settings: Settings) -> None:
        policy = AddressPolicy.from_settings(settings)
        self._guard = UrlGuard(policy)
        self._max_redirects = settings.max_redirects
        self._client = httpx.AsyncClient(
            transport=GuardedTransport(policy, max_connections=2),
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.connect_timeout,
            ),
            follow_redirects=False,
            trust_env=False,  # a proxy would make the address check meaningless
            # Content-Length must count the bytes of the file itself
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "identity"},
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    @asynccontextmanager
    async def get(self, url: str, doing: str) -> AsyncIterator[httpx.Response]:
        """The streamed 200 answer for ``url``; ModelError (saying ``doing``) otherwise."""
        current = url
        try:
            for _ in range(self._max_redirects + 1):
                await self._guard.check(current)
                response = await self._client.send(
                    self._client.build_request("GET", current), stream=True
                )
                try:
                    location = response.headers.get("location")
                    if response.is_redirect and location:
                        current = str(response.url.join(location))
                        continue
                    if response.status_code != 200:
                        raise ModelError(
                            f"{doing}: {current} answered HTTP {response.status_code} "
                            f"{response.reason_phrase}".rstrip()
                        )
                    yield response
                    return
                finally:
                    await response.aclose()
        except FetchError as exc:  # refused by the SSRF guard, or not a URL
            raise ModelError(f"{doing}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise ModelError(
                f"{doing}: {current} did not answer in time ({type(exc).__name__}); try again later"
            ) from exc
        except httpx.HTTPError as exc:
            raise ModelError(f"{doing}: cannot reach {current} ({_why(exc)})") from exc
        raise ModelError(f"{doing}: more than {self._max_redirects} redirects from {url}")


def _why(exc: httpx.HTTPError) -> str:
    """What went wrong, in words (httpx's timeouts often carry no message)."""
    if isinstance(exc, httpx.ReadTimeout):
        return "no data within read_timeout"
    return str(exc) or type(exc).__name__


def _content_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers["content-length"].strip())
    except (KeyError, ValueError):
        return None


async def _read_index(http: _Http, url: str, limit: int) -> dict[Direction, IndexPackage]:
    doing = f"cannot read the model index (models_index_url) {url}"
    chunks: list[bytes] = []
    async with http.get(url, doing) as response:
        total = 0
        try:
            async for chunk in response.aiter_bytes():
                total += len(chunk)
                if total > limit:
                    raise ModelError(f"{doing}: larger than {limit} bytes (max_body_bytes)")
                chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise ModelError(f"{doing}: the answer broke off ({_why(exc)})") from exc
    return parse_index(b"".join(chunks), url)


def fetch_index(settings: Settings) -> dict[Direction, IndexPackage]:
    """The packages of ``models_index_url``, the newest per direction; ModelError if unreadable."""

    async def run() -> dict[Direction, IndexPackage]:
        http = _Http(settings)
        try:
            return await _read_index(http, settings.models_index_url, settings.max_body_bytes)
        finally:
            await http.aclose()

    return asyncio.run(run())


async def _download(
    http: _Http, link: str, package: IndexPackage, dest: Path, limit: int, progress: Progress
) -> str:
    """Write ``link`` into ``dest``; return its SHA-256. Incomplete or too large: ModelError."""
    label = arrow(package.direction)
    doing = f"cannot download the {label} package"
    hasher = hashlib.sha256()
    async with http.get(link, doing) as response:
        declared = _content_length(response)
        if declared is not None and declared > limit:
            raise ModelError(
                f"{doing}: {link} is {declared} bytes, more than models_max_bytes ({limit})"
            )
        progress.start(label, declared or 0)
        received = 0
        with dest.open("wb") as out:
            try:
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > limit:
                        raise ModelError(
                            f"{doing}: {link} sends more than models_max_bytes ({limit})"
                        )
                    hasher.update(chunk)
                    out.write(chunk)
                    progress.advance(label, len(chunk))
            except httpx.HTTPError as exc:
                raise ModelError(
                    f"the download of the {label} package from {link} is incomplete "
                    f"({_why(exc)}); try again"
                ) from exc
        if declared is not None and response.num_bytes_downloaded != declared:
            raise ModelError(
                f"the download of the {label} package from {link} is incomplete: "
                f"{response.num_bytes_downloaded} of {declared} bytes; try again"
            )
    return hasher.hexdigest()


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
    """Remove every model of ``models_dir`` for ``source→target``; return what was removed."""
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
    return removed


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
    http: _Http, settings: Settings, package: IndexPackage, progress: Progress
) -> Installed:
    directory = models_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    for link in package.links:
        # hidden (the backend skips it) and on the same filesystem (the final rename is atomic)
        work = Path(tempfile.mkdtemp(prefix=".installing-", dir=directory))
        try:
            archive = work / "package.argosmodel"
            sha256 = await _download(
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
        http = _Http(settings)
        try:
            for package in packages:
                try:
                    report.installed.append(await _install_one(http, settings, package, progress))
                except ModelError as exc:
                    report.failed.append((package, str(exc)))
        finally:
            await http.aclose()

    asyncio.run(run())
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
    "IndexPackage",
    "InstallReport",
    "Installed",
    "InstalledModel",
    "PlanStep",
    "arrow",
    "fetch_index",
    "install_dir_name",
    "install_packages",
    "installed_models",
    "parse_index",
    "plan_direction",
    "remove_model",
    "site_language_plan",
    "up_to_date",
    "verify_package",
    "version_key",
]
