"""Neural translation with CTranslate2 models and SentencePiece, fully offline.

Models live in ``models_dir`` (default ``<data_dir>/models``), one per direction, in
either layout:

* an **OPUS-MT converted directory** (``ct2-transformers-converter`` or
  ``ct2-opus-mt-converter`` output): ``model.bin``, ``config.json``, the vocabulary
  (``shared_vocabulary.*`` or ``source_vocabulary.*`` + ``target_vocabulary.*``) and
  ``source.spm`` + ``target.spm``. The direction comes from a ``metadata.json``
  (``{"from_code": "de", "to_code": "en"}``) if there is one, else from the directory
  name (``opus-mt-de-en``, ``Helsinki-NLP--opus-mt-de-en-ct2``);
* an **Argos Translate package** (``*.argosmodel``, a zip; or the same unzipped):
  ``metadata.json`` with ``from_code``/``to_code``/``package_version``, ``model/`` in
  CTranslate2 format and ``sentencepiece.model``. Zips are unpacked once into
  ``<data_dir>/cache/ctranslate2/``; argostranslate itself is never imported.

Every model is opened at start-up so a missing or corrupt one is reported then, not at
the first article. Paragraphs are split into sentences (:mod:`.sentences`), all the
sentences of a batch are translated together, and each paragraph is put back from its
own sentences, so paragraphs stay 1:1.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from polynews.config import Settings
from polynews.errors import BackendUnavailable, TranslateError
from polynews.translate.base import BackendKind, Direction
from polynews.translate.sentences import join_sentences, sentence_spans

# Optional dependencies: without them the module still imports and create() says why.
_MISSING: ImportError | None = None
try:
    import ctranslate2  # type: ignore[import-untyped]
    import sentencepiece
except ImportError as exc:
    _MISSING = exc

log = logging.getLogger(__name__)

# Sentences longer than this are cut at clause punctuation: models are trained on
# sentences and CTranslate2 silently truncates inputs past max_input_length tokens.
MAX_SENTENCE_CHARS = 600
# Decoding stops at this many target tokens per source token (plus a margin), so a
# model that fails to emit </s> cannot run away.
_DECODE_RATIO = 2.0
_DECODE_MARGIN = 16
_DECODE_CAP = 512
_DECODE_STEP = 16
# An .argosmodel larger than this once unpacked is refused (zip bomb guard).
MAX_UNPACKED_BYTES = 4_000_000_000

_OPUS_NAME = re.compile(r"opus-mt-(?:tc-big-|tc-)?([a-z]{2,3})-([a-z]{2,3})(?=$|[-_.])")
_CODE = re.compile(r"^[a-z]{2,3}$")
Layout = Literal["opus-mt", "argos"]


@dataclass(frozen=True)
class ModelPackage:
    """One CTranslate2 model for one direction, as found on disk."""

    source: str
    target: str
    model_dir: Path  # the directory holding model.bin
    source_spm: Path
    target_spm: Path
    version: str  # the package's version, or a digest of model.bin's size and config
    origin: Path  # the directory or .argosmodel file the operator installed
    layout: Layout
    append_eos: bool = False  # add </s> to the source tokens ourselves (see read_opus_mt_dir)

    @property
    def direction(self) -> Direction:
        """The (source, target) pair this model translates."""
        return (self.source, self.target)


def read_opus_mt_dir(path: Path) -> ModelPackage:
    """Describe an OPUS-MT converted model directory; raise BackendUnavailable if unusable."""
    metadata = _read_json(path / "metadata.json") if (path / "metadata.json").is_file() else {}
    if metadata:
        source, target = _codes(metadata, path)
    else:
        match = _OPUS_NAME.search(path.name)
        if match is None:
            raise BackendUnavailable(
                f"model directory {path}: cannot tell its direction; name it like "
                "'opus-mt-de-en' or add a metadata.json with from_code and to_code"
            )
        source, target = match.group(1), match.group(2)
    _check_model_dir(path)
    spms = (path / "source.spm", path / "target.spm")
    if not all(p.is_file() for p in spms):
        shared = path / "sentencepiece.model"
        if not shared.is_file():
            raise BackendUnavailable(
                f"model directory {path}: source.spm and target.spm are missing; copy them "
                "from the original OPUS-MT model next to model.bin"
            )
        spms = (shared, shared)
    # Marian models expect </s> after the source. ct2-opus-mt-converter sets
    # add_source_eos in config.json; ct2-transformers-converter leaves it false because
    # the Hugging Face tokenizer adds </s>, so with plain SentencePiece we must add it.
    # metadata.json may say otherwise ("append_source_eos") for non-Marian models.
    config = _read_json(path / "config.json") if (path / "config.json").is_file() else {}
    append_eos = bool(metadata.get("append_source_eos", not config.get("add_source_eos")))
    version = str(metadata.get("package_version") or _digest(path))
    return ModelPackage(
        source, target, path, spms[0], spms[1], version, path, "opus-mt", append_eos
    )


def read_argos_dir(path: Path, origin: Path | None = None) -> ModelPackage:
    """Describe an unpacked Argos Translate package; raise BackendUnavailable if unusable."""
    origin = origin or path
    metadata = _read_json(path / "metadata.json")
    source, target = _codes(metadata, origin)
    _check_model_dir(path / "model")
    spm = path / "sentencepiece.model"
    if not spm.is_file():
        hint = (
            " (this package uses BPE, which polynews does not read)"
            if any(path.glob("*bpe*"))
            else ""
        )
        raise BackendUnavailable(f"Argos package {origin}: sentencepiece.model is missing{hint}")
    version = str(metadata.get("package_version") or _digest(path / "model"))
    return ModelPackage(source, target, path / "model", spm, spm, version, origin, "argos")


def unpack_argos_package(package: Path, cache_dir: Path) -> Path:
    """Unzip an ``.argosmodel`` into ``cache_dir`` once; return the package directory.

    The cache entry is named after the file's name, size and modification time, so a
    replaced package is unpacked again. Members with absolute paths or ``..`` and
    archives that would unpack to more than MAX_UNPACKED_BYTES are refused.
    """
    stat = package.stat()
    key = hashlib.sha256(f"{package.name}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
    target = cache_dir / f"{package.stem}-{key[:12]}"
    if (target / ".complete").is_file():
        return _package_root(target, package)
    try:
        with zipfile.ZipFile(package) as zf:
            members = zf.infolist()
            total = sum(m.file_size for m in members)
            if total > MAX_UNPACKED_BYTES:
                raise BackendUnavailable(
                    f"Argos package {package}: unpacks to {total} bytes, more than the "
                    f"{MAX_UNPACKED_BYTES} allowed; is it really a translation model?"
                )
            for member in members:
                name = PurePosixPath(member.filename)
                if name.is_absolute() or ".." in name.parts:
                    raise BackendUnavailable(
                        f"Argos package {package}: member {member.filename!r} points outside "
                        "the package; refusing to unpack it"
                    )
            cache_dir.mkdir(parents=True, exist_ok=True)
            staging = cache_dir / f".{target.name}.{os.getpid()}.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            zf.extractall(staging)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise BackendUnavailable(
            f"Argos package {package}: not a readable zip file ({exc}); download it again"
        ) from exc
    except OSError as exc:
        raise BackendUnavailable(
            f"Argos package {package}: cannot unpack into {cache_dir} ({exc})"
        ) from exc
    (staging / ".complete").touch()
    if target.exists() and not (target / ".complete").is_file():
        shutil.rmtree(target, ignore_errors=True)  # left over by an interrupted run
    try:
        staging.rename(target)  # atomic: readers see a complete copy or none
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / ".complete").is_file():
            raise BackendUnavailable(
                f"Argos package {package}: cannot move the unpacked copy into {target}"
            ) from None
        # Another worker unpacked the same package meanwhile; use its copy.
    for stale in cache_dir.glob(f"{package.stem}-*"):
        if stale != target and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)  # an older version of this package
    return _package_root(target, package)


def _package_root(unpacked: Path, package: Path) -> Path:
    # Argos zips hold one top directory (translate-de_en-1_0/); accept a flat zip too.
    if (unpacked / "metadata.json").is_file():
        return unpacked
    tops = [p for p in unpacked.iterdir() if p.is_dir() and (p / "metadata.json").is_file()]
    if len(tops) != 1:
        raise BackendUnavailable(
            f"Argos package {package}: no metadata.json at its top; is it an Argos Translate "
            "package (.argosmodel)?"
        )
    return tops[0]


def discover_models(models_dir: Path, cache_dir: Path) -> tuple[list[ModelPackage], list[str]]:
    """Find every model in ``models_dir``: the usable packages, and why the others are not."""
    packages: list[ModelPackage] = []
    problems: list[str] = []
    if not models_dir.is_dir():
        return packages, problems
    for entry in sorted(models_dir.iterdir()):
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_file() and entry.suffix == ".argosmodel":
                root = unpack_argos_package(entry, cache_dir)
                packages.append(read_argos_dir(root, origin=entry))
            elif entry.is_dir() and (entry / "model").is_dir():
                packages.append(read_argos_dir(entry))
            elif entry.is_dir():
                packages.append(read_opus_mt_dir(entry))
        except BackendUnavailable as exc:
            problems.append(str(exc))
    return packages, problems


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackendUnavailable(f"{path} is missing; cannot tell the model's direction") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackendUnavailable(f"{path} is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise BackendUnavailable(f"{path} must hold a JSON object")
    return data


def _codes(metadata: dict[str, Any], origin: Path) -> tuple[str, str]:
    source, target = metadata.get("from_code"), metadata.get("to_code")
    if (
        isinstance(source, str)
        and isinstance(target, str)
        and _CODE.match(source)
        and _CODE.match(target)
    ):
        return source, target
    raise BackendUnavailable(
        f"model {origin}: metadata.json needs from_code and to_code as ISO 639 codes "
        f"such as 'de' and 'en' (found {source!r} and {target!r})"
    )


def _check_model_dir(path: Path) -> None:
    if not (path / "model.bin").is_file():
        raise BackendUnavailable(
            f"model directory {path}: model.bin is missing; is it a CTranslate2 model? "
            "Convert Marian/OPUS-MT models with ct2-transformers-converter first"
        )
    vocab = [p.name for p in path.glob("*vocabulary*")]
    if not vocab:
        raise BackendUnavailable(
            f"model directory {path}: no vocabulary file (shared_vocabulary.json or "
            "source_vocabulary/target_vocabulary); the conversion is incomplete"
        )


def _digest(model_dir: Path) -> str:
    hasher = hashlib.sha256()
    for name in ("config.json", "model.bin"):
        path = model_dir / name
        if path.is_file():
            hasher.update(f"{name}:{path.stat().st_size}".encode())
    if (model_dir / "config.json").is_file():
        hasher.update((model_dir / "config.json").read_bytes())
    return hasher.hexdigest()[:10]


class _LoadedModel:
    """A CTranslate2 translator with its two SentencePiece processors."""

    def __init__(self, package: ModelPackage, options: dict[str, Any]) -> None:
        self.package = package
        where = package.origin
        try:
            self.translator = ctranslate2.Translator(str(package.model_dir), **options)
        except (RuntimeError, ValueError, OSError) as exc:
            raise BackendUnavailable(
                f"model {where}: CTranslate2 cannot load it ({exc}); the file is corrupt or "
                f"was made by a newer CTranslate2 than {ctranslate2.__version__}"
            ) from exc
        try:
            self.source_sp = sentencepiece.SentencePieceProcessor(
                model_file=str(package.source_spm)
            )
            self.target_sp = sentencepiece.SentencePieceProcessor(
                model_file=str(package.target_spm)
            )
        except (RuntimeError, OSError) as exc:
            raise BackendUnavailable(
                f"model {where}: SentencePiece cannot load {package.source_spm.name} or "
                f"{package.target_spm.name} ({exc}); the file is corrupt"
            ) from exc


class CTranslate2Backend:
    """Translates with CTranslate2 models found in a directory, one model per direction."""

    name = "ctranslate2"
    kind: BackendKind = "neural"

    def __init__(
        self,
        packages: Sequence[ModelPackage],
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        inter_threads: int = 1,
        intra_threads: int = 0,
        beam_size: int = 2,
        batch_size: int = 32,
        max_loaded: int = 4,
    ) -> None:
        self._packages: dict[Direction, ModelPackage] = {}
        for package in packages:
            kept = self._packages.setdefault(package.direction, package)
            if kept is not package:
                log.warning(
                    "duplicate model ignored lang=%s-%s model=%s kept=%s",
                    package.source,
                    package.target,
                    package.origin,
                    kept.origin,
                )
        self._options: dict[str, Any] = {
            "device": device,
            "compute_type": compute_type,
            "inter_threads": inter_threads,
            "intra_threads": intra_threads,
        }
        self._beam_size = beam_size
        self._batch_size = batch_size
        self._max_loaded = max_loaded
        self._loaded: OrderedDict[Direction, _LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        identity = ";".join(f"{s}-{t}:{p.version}" for (s, t), p in sorted(self._packages.items()))
        digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
        self.version = f"{ctranslate2.__version__}+models.{digest}"

    @property
    def packages(self) -> dict[Direction, ModelPackage]:
        """The model used for each direction."""
        return dict(self._packages)

    def directions(self) -> set[Direction]:
        """The directions for which a model is installed."""
        return set(self._packages)

    def check(self) -> list[str]:
        """Open every model once; drop and describe those that cannot be loaded."""
        problems: list[str] = []
        for direction in list(self._packages):
            try:
                self._model(direction)
            except BackendUnavailable as exc:
                problems.append(str(exc))
                del self._packages[direction]
        return problems

    def _model(self, direction: Direction) -> _LoadedModel:
        with self._lock:
            model = self._loaded.get(direction)
            if model is not None:
                self._loaded.move_to_end(direction)
                return model
            model = _LoadedModel(self._packages[direction], self._options)
            self._loaded[direction] = model
            # Each model holds its weights in memory; keep only the most recently used.
            while len(self._loaded) > self._max_loaded:
                old, _ = self._loaded.popitem(last=False)
                log.debug("model unloaded lang=%s-%s", *old)
            return model

    def translate(self, segments: Sequence[str], source: str, target: str) -> list[str]:
        """Translate paragraphs sentence by sentence; one output per input, in order."""
        direction = (source, target)
        if direction not in self._packages:
            offered = ", ".join(f"{s}-{t}" for s, t in sorted(self._packages)) or "none"
            raise TranslateError(
                f"ctranslate2 has no model for {source}-{target} (installed: {offered}); "
                f"add one to the models directory"
            )
        try:
            model = self._model(direction)
        except BackendUnavailable as exc:
            raise TranslateError(str(exc)) from exc

        spans = [
            sentence_spans(text, source, MAX_SENTENCE_CHARS) if text.strip() else []
            for text in segments
        ]
        sentences = [
            text[a:b] for text, pieces in zip(segments, spans, strict=True) for a, b in pieces
        ]
        translated = self._translate_sentences(model, sentences, direction)
        out: list[str] = []
        position = 0
        for text, pieces in zip(segments, spans, strict=True):
            if not pieces:
                out.append(text)
                continue
            mine = translated[position : position + len(pieces)]
            position += len(pieces)
            out.append(join_sentences(text, pieces, mine))
        return out

    def _batches(self, tokens: list[list[str]]) -> list[tuple[int, list[int]]]:
        """Group sentence indexes into batches that share one decoding limit.

        CTranslate2 takes one ``max_decoding_length`` per call; grouping sentences by a
        limit derived from their own length keeps a sentence's output independent of
        its batch mates (so the translation memory sees the same output every time),
        and sorting by length keeps padding low.
        """
        batches: list[tuple[int, list[int]]] = []
        for index in sorted(range(len(tokens)), key=lambda i: len(tokens[i])):
            wanted = len(tokens[index]) * _DECODE_RATIO + _DECODE_MARGIN
            limit = min(_DECODE_CAP, -(-int(wanted) // _DECODE_STEP) * _DECODE_STEP)
            if batches and batches[-1][0] == limit and len(batches[-1][1]) < self._batch_size:
                batches[-1][1].append(index)
            else:
                batches.append((limit, [index]))
        return batches

    def _translate_sentences(
        self, model: _LoadedModel, sentences: list[str], direction: Direction
    ) -> list[str]:
        if not sentences:
            return []
        tokens: list[list[str]] = model.source_sp.encode(sentences, out_type=str)
        if model.package.append_eos:
            tokens = [[*sentence, "</s>"] for sentence in tokens]
        results: list[str] = [""] * len(tokens)
        for limit, chunk in self._batches(tokens):
            batch = [tokens[i] for i in chunk]
            try:
                hypotheses = model.translator.translate_batch(
                    batch,
                    beam_size=self._beam_size,
                    max_decoding_length=limit,
                    max_batch_size=self._batch_size,
                    replace_unknowns=True,
                )
            except (RuntimeError, ValueError) as exc:
                raise TranslateError(
                    f"ctranslate2 failed on {direction[0]}-{direction[1]} with model "
                    f"{model.package.origin}: {exc}"
                ) from exc
            for index, result in zip(chunk, hypotheses, strict=True):
                pieces = result.hypotheses[0] if result.hypotheses else []
                results[index] = model.target_sp.decode_pieces(pieces).strip()
        return results


def models_dir(settings: Settings) -> Path:
    """The directory holding the models: ``models_dir``, else ``<data_dir>/models``."""
    configured: str = settings.models_dir
    return Path(configured) if configured else Path(settings.data_dir) / "models"


def require_runtime() -> None:
    """Raise BackendUnavailable when ctranslate2 or sentencepiece is not installed."""
    if _MISSING is not None:
        raise BackendUnavailable(
            f"ctranslate2 and sentencepiece are not installed ({_MISSING}); "
            "run: pip install ctranslate2 sentencepiece"
        )


def create(settings: Settings) -> CTranslate2Backend:
    """Build the backend from the models found; BackendUnavailable when there are none."""
    require_runtime()
    directory = models_dir(settings)
    if not directory.is_dir():
        raise BackendUnavailable(
            f"no models directory {directory}; put OPUS-MT converted models or .argosmodel "
            "packages there, or set models_dir"
        )
    cache_dir = Path(settings.data_dir) / "cache" / "ctranslate2"
    packages, problems = discover_models(directory, cache_dir)
    backend = CTranslate2Backend(
        packages,
        device=settings.ctranslate2_device,
        compute_type=settings.ctranslate2_compute_type,
        inter_threads=settings.ctranslate2_inter_threads,
        intra_threads=settings.ctranslate2_intra_threads or (os.cpu_count() or 1),
        beam_size=settings.ctranslate2_beam_size,
        batch_size=settings.ctranslate2_batch_size,
        max_loaded=settings.ctranslate2_max_loaded,
    )
    problems += backend.check()
    for problem in problems:
        log.warning("model skipped backend=ctranslate2 reason=%s", problem)
    if not backend.directions():
        found = "; ".join(problems) if problems else "the directory is empty"
        raise BackendUnavailable(f"no usable model in {directory}: {found}")
    log.info(
        "models loaded backend=ctranslate2 directions=%s",
        ",".join(f"{s}-{t}" for s, t in sorted(backend.directions())),
    )
    return backend


__all__ = [
    "CTranslate2Backend",
    "ModelPackage",
    "create",
    "discover_models",
    "models_dir",
    "read_argos_dir",
    "read_opus_mt_dir",
    "require_runtime",
    "unpack_argos_package",
]
