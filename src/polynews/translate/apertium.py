"""Apertium, the rule-based engine from Debian's packages: fully offline, no German.

A batch of segments goes through ONE ``apertium`` process: each segment becomes its own
``<p>`` block of an HTML document (``-f html``). Apertium never moves words across block
boundaries, whereas with plain text it does move words across newlines (checked with
"I have\\nseen the big\\nhouse"), so blocks are what keeps paragraphs 1:1.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from polynews.config import Settings
from polynews.errors import BackendUnavailable, TranslateError
from polynews.translate.base import BackendKind, Direction

log = logging.getLogger(__name__)

# Apertium names pairs with ISO 639-3 (newer packages) or 639-1 (older ones) codes.
_ISO3_TO_ISO1 = {
    "eng": "en", "spa": "es", "fra": "fr", "ita": "it", "cat": "ca", "deu": "de",
    "rus": "ru", "ukr": "uk", "por": "pt", "glg": "gl", "oci": "oc", "nld": "nl",
    "pol": "pl", "ron": "ro", "arg": "an", "eus": "eu", "bel": "be",
}  # fmt: skip

_PLACE_TAGS = ("<loc>", "<top>", "<org>", "<al>")
_BLOCK = re.compile(r"<p>(.*?)</p>", re.DOTALL)
_MODE_DIR = re.compile(r"/usr/share/apertium/(apertium-[a-z_-]+)/")
_AUTOMORF = re.compile(r"lt-proc\s+(?:-\w+\s+)*'?([^'\s|]+\.automorf\.bin)'?")


def _iso1(code: str) -> str | None:
    if len(code) == 2 and code.isalpha():
        return code
    return _ISO3_TO_ISO1.get(code)


@dataclass(frozen=True)
class Unit:
    """One lexical unit found by Apertium's morphological analyser."""

    surface: str
    tags: tuple[str, ...]  # one string of tags per reading; empty when the word is unknown

    @property
    def known(self) -> bool:
        """True when the analyser knows the word."""
        return bool(self.tags)

    @property
    def proper_noun(self) -> bool:
        """True when the analyser only knows the word as a proper noun (or not at all)."""
        return all("<np>" in reading for reading in self.tags)

    @property
    def person(self) -> bool:
        """True when one reading is a person's first name or surname."""
        return any("<ant>" in reading or "<cog>" in reading for reading in self.tags)

    @property
    def place(self) -> bool:
        """True when one reading is a place or organisation name."""
        return any(tag in reading for reading in self.tags for tag in _PLACE_TAGS)


class ApertiumBackend:
    """Translates with the ``apertium`` command, one process per batch."""

    name = "apertium"
    kind: BackendKind = "rule"

    def __init__(
        self,
        modes: dict[Direction, str],
        *,
        binary: str = "apertium",
        version: str = "unknown",
        analysers: dict[Direction, Path] | None = None,
        timeout: float = 600.0,
    ) -> None:
        self._modes = dict(modes)
        self._binary = binary
        self._analysers = dict(analysers or {})
        self._timeout = timeout
        self.version = version

    def directions(self) -> set[Direction]:
        """The language pairs installed, e.g. ``{("en", "es"), ("es", "en"), ...}``."""
        return set(self._modes)

    def mode(self, source: str, target: str) -> str:
        """The Apertium mode name used for a direction (``"fr-es"``, ``"eng-spa"``)."""
        try:
            return self._modes[(source, target)]
        except KeyError:
            raise TranslateError(
                f"apertium has no {source}->{target} pair installed; "
                f"installed: {', '.join(sorted(f'{s}->{t}' for s, t in self._modes))}"
            ) from None

    def translate(self, segments: Sequence[str], source: str, target: str) -> list[str]:
        """Translate a batch in one ``apertium -u -f html`` call, keeping segments 1:1."""
        mode = self.mode(source, target)
        todo = [i for i, seg in enumerate(segments) if seg.strip()]
        out = list(segments)
        if not todo:
            return out
        document = "".join(f"<p>{html.escape(segments[i], quote=False)}</p>\n" for i in todo)
        translated = self._run([self._binary, "-u", "-f", "html", mode], document, mode)
        blocks = _BLOCK.findall(translated)
        if len(blocks) != len(todo):
            raise TranslateError(
                f"apertium {mode} returned {len(blocks)} paragraphs for {len(todo)}; "
                "the batch was not translated"
            )
        for i, block in zip(todo, blocks, strict=True):
            out[i] = html.unescape(block)
        return out

    def analyse(self, lines: Sequence[str], source: str, target: str) -> list[list[Unit]] | None:
        """Analysis of each line by the source analyser of a pair (one process), or None.


        Lines must be plain words and spaces: the quality layer asks about runs of
        capitalised words to decide which ones are names worth protecting.
        """
        analyser = self._analysers.get((source, target))
        if analyser is None or not lines:
            return None if analyser is None else []
        text = "".join(line.replace("\n", " ") + "\n" for line in lines)
        output = self._run(["lt-proc", str(analyser)], text, f"{source}-{target} analyser")
        result = [_parse_units(line) for line in output.split("\n")[: len(lines)]]
        if len(result) != len(lines):
            return None
        return result

    def _run(self, argv: list[str], text: str, what: str) -> str:
        try:
            proc = subprocess.run(
                argv, input=text.encode("utf-8"), capture_output=True,
                timeout=self._timeout, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise TranslateError(
                f"apertium {what} took longer than {self._timeout:.0f} s on {len(text)} characters"
            ) from exc
        except OSError as exc:
            raise TranslateError(f"could not start {argv[0]} for {what}: {exc}") from exc
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip()[-500:]
            raise TranslateError(f"apertium {what} failed (exit {proc.returncode}): {err}")
        return proc.stdout.decode("utf-8", "replace")


_UNIT = re.compile(r"\^(.*?)\$")


def _parse_units(line: str) -> list[Unit]:
    units = []
    for body in _UNIT.findall(line):
        surface, _, rest = body.partition("/")
        readings = tuple(r for r in rest.split("/") if r and not r.startswith("*"))
        units.append(Unit(surface, readings))
    return units


def discover_modes(binary: str) -> dict[Direction, str]:
    """Map each installed direction to its mode, from ``apertium -l``.

    Variant modes (``spa-cat_valencia``) and modes that are not a plain pair
    (``eco-es-fr``) are ignored; the first mode found for a direction wins.
    """
    try:
        proc = subprocess.run([binary, "-l"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackendUnavailable(f"apertium: `{binary} -l` could not run: {exc}") from exc
    modes: dict[Direction, str] = {}
    for raw in proc.stdout.decode("utf-8", "replace").split():
        parts = raw.split("-")
        if len(parts) != 2 or "_" in raw:
            continue
        src, tgt = _iso1(parts[0]), _iso1(parts[1])
        if src and tgt and (src, tgt) not in modes:
            modes[(src, tgt)] = raw
    return modes


def _mode_files(binary: str, modes: dict[Direction, str]) -> dict[str, str]:
    """The text of each mode file (the shell pipeline Apertium runs), by mode name."""
    found: dict[str, str] = {}
    prefix = Path(binary).resolve().parent.parent / "share" / "apertium" / "modes"
    for mode in modes.values():
        path = prefix / f"{mode}.mode"
        if path.is_file():
            found[mode] = path.read_text(encoding="utf-8", errors="replace")
    return found


def _package_versions(packages: Sequence[str]) -> dict[str, str]:
    if not packages or shutil.which("dpkg-query") is None:
        return {}
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${Version}\n", *packages],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    versions = {}
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        name, _, version = line.partition(" ")
        if version:
            versions[name] = version
    return versions


def create(settings: Settings) -> ApertiumBackend:
    """Build the Apertium backend from the installed packages, or raise BackendUnavailable."""
    binary = shutil.which(str(settings.apertium_binary))
    if binary is None:
        raise BackendUnavailable(
            f"apertium: command {settings.apertium_binary!r} not found; install it with "
            "`apt-get install apertium apertium-eng-spa apertium-fr-es apertium-spa-ita`"
        )
    modes = discover_modes(binary)
    if not modes:
        raise BackendUnavailable(
            "apertium: no language pair installed; install e.g. `apt-get install apertium-eng-spa`"
        )
    texts = _mode_files(binary, modes)
    packages = sorted({m.group(1) for t in texts.values() for m in _MODE_DIR.finditer(t)})
    versions = _package_versions(["apertium", *packages])
    # Any pair package update changes the version, so the memory never serves old output.
    data = ",".join(f"{p}={versions.get(p, '?')}" for p in packages)
    digest = hashlib.sha256(data.encode()).hexdigest()[:8]
    version = f"{versions.get('apertium', 'unknown')}+data.{digest}"
    analysers: dict[Direction, Path] = {}
    for direction, mode in modes.items():
        match = _AUTOMORF.search(texts.get(mode, ""))
        if match and Path(match.group(1)).is_file():
            analysers[direction] = Path(match.group(1))
    if shutil.which("lt-proc") is None:
        analysers = {}
    log.info(
        "apertium ready version=%s directions=%s",
        version, ",".join(f"{s}-{t}" for s, t in sorted(modes)),
    )  # fmt: skip
    return ApertiumBackend(
        modes, binary=binary, version=version, analysers=analysers,
        timeout=float(settings.translation_timeout),
    )  # fmt: skip
