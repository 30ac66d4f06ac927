"""Quality layer around an engine: protect what must not change, tidy what comes out.

Protection replaces a span (a foreign name, a URL, a grouped number, a quoted title) by
a placeholder word such as ``Zqxa``: a capitalised word no dictionary knows, which
rule-based engines pass through untouched and treat like a proper noun, so the grammar
around it holds ("Zqxa dijo", not a sentence missing its subject, as happened with
empty inline tags). After translation each placeholder is put back; a segment that lost
one is translated again without protection rather than published wrong.

Every trick can be switched off (:class:`Tricks`) so ``benchmarks/translate.py`` can
measure its effect on chrF; the defaults keep only those that raised it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class LexicalUnit(Protocol):
    """What the name detector needs to know about one analysed word."""

    @property
    def surface(self) -> str:
        """The text of the unit as it appeared."""
        ...

    @property
    def known(self) -> bool:
        """True when the analyser knows the word."""
        ...

    @property
    def proper_noun(self) -> bool:
        """True when the word is only a proper noun, or unknown."""
        ...

    @property
    def person(self) -> bool:
        """True when the word can be a person's first name or surname."""
        ...

    @property
    def place(self) -> bool:
        """True when the word can be a place or organisation name."""
        ...

    @property
    def first_name(self) -> bool:
        """True when the word can be a first name and cannot be a place."""
        ...

    @property
    def plural(self) -> bool:
        """True when the word is known, and only as a plural."""
        ...


Analyser = Callable[[Sequence[str]], "Sequence[Sequence[LexicalUnit]] | None"]
"""Analyses lines of words (one list of units per line), or returns None if it cannot."""


@dataclass(frozen=True)
class Tricks:
    """Which quality tricks are on; see the module docstring."""

    names: bool = True
    urls: bool = True
    numbers: bool = True
    quotes: bool = False
    normalise: bool = True
    case: bool = True
    typography: bool = True


_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"«»]+[^\s<>\"«».,;:!?)\]']")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_NUMBER = re.compile(
    r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?(?:[ \u00a0\u202f]?%)?"
    r"|\d+(?:[.,]\d+)?[ \u00a0\u202f]?%"
)
_QUOTED = re.compile(
    r"«[ \u00a0\u202f]?([^«»]{1,80}?)[ \u00a0\u202f]?»|“([^“”]{1,80})”|\"([^\"]{1,80})\""
)
_SPACES = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE = re.compile(r"[ \t]+([,.)\]…])")
_SPACE_BEFORE_HIGH = re.compile(r"[ \t]+([;:!?])")
_SPACE_AFTER_OPEN = re.compile(r"([(\[¿¡])[ \t]+")
_GUILLEMETS = re.compile(r"«[ \u00a0\u202f]?([^«»\n]*?)[ \u00a0\u202f]?»|“([^“”\n]*)”")
# English and Italian news (FLORES references and newstest alike) quote with straight
# double quotes; Spanish and French outlets disagree between test sets (FLORES « »,
# newstest "), so their quotes are left as the source had them.
_STRAIGHT_QUOTES = frozenset({"en", "it"})


@dataclass
class Protected:
    """One segment after protection: the text sent to the engine and how to undo it."""

    original: str
    text: str
    spans: dict[str, str] = field(default_factory=dict)  # placeholder -> original text
    lower_after: set[str] = field(default_factory=set)  # placeholders followed by lower case


def _placeholder_prefix(segments: Sequence[str]) -> str:
    for prefix in ("Zqx", "Zqw", "Zxq", "Qzx", "Xqz"):
        if not any(prefix in seg for seg in segments):
            return prefix
    return "Zqxqz"


def _letters(n: int) -> str:
    out = ""
    n += 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(ord("a") + rem) + out
    return out


def _title_like(text: str) -> bool:
    words = text.split()
    return 1 <= len(words) <= 8 and text[:1].isupper() and text.rstrip()[-1:] not in ".!?"


def name_spans(
    text: str, units_for: Callable[[str], Sequence[LexicalUnit] | None]
) -> list[tuple[int, int]]:
    """Character spans of names an engine would mangle, in runs of capitalised words.

    A run's units are classed as names (proper noun or unknown) or words. A span starts
    at the first name, takes following names, a single word between two names unless
    the first is a place ("Choe Son Hui", not "United States President Donald"), and a
    word ending the run after a person's name ("Donald Trump", "Kim Jong Un", not
    "Artibonite River", whose "River" should be translated); it is kept only if it
    holds a word (else the engine leaves it alone) and two units or more.
    """
    spans: list[tuple[int, int]] = []
    words = list(_WORD.finditer(text))
    i = 0
    while i < len(words):
        if not words[i].group()[0].isupper():
            i += 1
            continue
        j = i
        while (
            j + 1 < len(words)
            and words[j + 1].group()[0].isupper()
            and text[words[j].end() : words[j + 1].start()] == " "
        ):
            j += 1
        if j > i:
            start = words[i].start()
            spans.extend(
                (start + a, start + b)
                for a, b in _spans_in_run(text[start : words[j].end()], units_for)
            )
        i = j + 1
    return spans


def _spans_in_run(
    run: str, units_for: Callable[[str], Sequence[LexicalUnit] | None]
) -> list[tuple[int, int]]:
    units = units_for(run)
    if not units:
        return []
    offsets: list[tuple[int, int]] = []
    pos = 0
    for unit in units:
        at = run.find(unit.surface, pos)
        if at < 0:
            return []
        offsets.append((at, at + len(unit.surface)))
        pos = at + len(unit.surface)
    is_name = [u.proper_noun for u in units]
    spans = []
    k = 0
    while k < len(units):
        if not is_name[k]:
            k += 1
            continue
        end = k
        while end + 1 < len(units):
            if is_name[end + 1]:
                end += 1
            elif (
                end + 2 < len(units)
                and is_name[end + 2]
                and not units[end].place
                and len(units[end + 1].surface) <= _SYLLABLE
            ):
                # "Choe Son Hui", but not "United States President Donald Trump".
                end += 2
            elif (
                end + 2 == len(units)
                and (units[end].first_name or (end > k and units[end].person))
                and (end == k or len(units[end + 1].surface) <= _SYLLABLE)
                and not _plural(units[end + 1])
            ):
                # "Kim Jong Un", "Donald Trump", "Adam Hall", but not "Artibonite River"
                # (no person), "Nobel Committee" (a surname alone), "Jordan Valley" (also
                # a place), "Camp David Accords" (a plural noun), or "Commons
                # Administrator Adam Cuerden" (a long word after two names).
                end += 1
                break
            else:
                break
        if end > k and not all(is_name[k : end + 1]):
            spans.append((offsets[k][0], offsets[end][1]))
        k = end + 1
    return spans


_SYLLABLE = 3


def _plural(unit: LexicalUnit) -> bool:
    """A word known only as a plural in -s ("Accords"): no family name (but "Pence" is one)."""
    return unit.plural and unit.surface.endswith("s")


"""Longest known word taken inside a name: the syllables of East Asian names ("Son", "Un")."""


class Protector:
    """Protects spans before translation and restores them after, per :class:`Tricks`."""

    def __init__(self, tricks: Tricks = Tricks(), analyser: Analyser | None = None) -> None:
        self.tricks = tricks
        self.analyser = analyser

    def protect(self, segments: Sequence[str]) -> list[Protected]:
        """Replace the protected spans of each segment by placeholders."""
        prefix = _placeholder_prefix(segments)
        runs_units = self._analyse_runs(segments) if self.tricks.names else {}
        counter = 0
        result = []
        for seg in segments:
            spans: list[tuple[int, int]] = []
            if self.tricks.urls:
                spans += [m.span() for m in _URL.finditer(seg)]
                spans += [m.span() for m in _EMAIL.finditer(seg)]
            if self.tricks.numbers:
                spans += [m.span() for m in _NUMBER.finditer(seg)]
            if self.tricks.quotes:
                for m in _QUOTED.finditer(seg):
                    group = next(g for g in (1, 2, 3) if m.group(g) is not None)
                    if _title_like(m.group(group)):
                        spans.append(m.span(group))
            if self.tricks.names and runs_units:
                spans += name_spans(seg, runs_units.get)
            protected = Protected(seg, seg)
            pieces: list[str] = []
            last = 0
            for start, end in _disjoint(spans):
                token = prefix + _letters(counter)
                counter += 1
                pieces.append(seg[last:start])
                pieces.append(token)
                protected.spans[token] = seg[start:end]
                after = _WORD.search(seg, end)
                if after and after.group()[0].islower() and seg[end : after.start()].strip() == "":
                    protected.lower_after.add(token)
                last = end
            pieces.append(seg[last:])
            protected.text = "".join(pieces)
            result.append(protected)
        return result

    def _analyse_runs(self, segments: Sequence[str]) -> dict[str, Sequence[LexicalUnit]]:
        if self.analyser is None:
            return {}
        runs: dict[str, None] = {}
        for seg in segments:
            words = list(_WORD.finditer(seg))
            k = 0
            while k < len(words):
                j = k
                while (
                    j + 1 < len(words)
                    and words[k].group()[0].isupper()
                    and words[j + 1].group()[0].isupper()
                    and seg[words[j].end() : words[j + 1].start()] == " "
                ):
                    j += 1
                if j > k:
                    runs[seg[words[k].start() : words[j].end()]] = None
                k = j + 1
        if not runs:
            return {}
        analysed = self.analyser(list(runs))
        if analysed is None:
            return {}
        return dict(zip(runs, analysed, strict=False))

    def restore(self, item: Protected, translated: str) -> str | None:
        """Put the protected spans back; None when a placeholder went missing."""
        text = translated
        for token, original in item.spans.items():
            if text.count(token) != 1:
                return None
            if token in item.lower_after:
                # Engines capitalise the word after an unknown sentence-initial word.
                text = re.sub(
                    r"(?<=" + re.escape(token) + r")(\s+)([A-ZÀ-ÖØ-Þ])(?=[a-zà-öø-ÿ])",
                    lambda m: m.group(1) + m.group(2).lower(),
                    text,
                    count=1,
                )
            text = text.replace(token, original)
        return text


def _disjoint(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start < out[-1][1]:
            continue
        out.append((start, end))
    return out


def normalise(text: str, target: str) -> str:
    """Tidy engine output: single spaces, no space before closing punctuation, trimmed.

    French keeps its (non-breaking) space before ``; : ! ?``.
    """
    text = _SPACES.sub(" ", text).strip()
    text = _SPACE_BEFORE.sub(r"\1", text)
    if target != "fr":
        text = _SPACE_BEFORE_HIGH.sub(r"\1", text)
    return _SPACE_AFTER_OPEN.sub(r"\1", text)


def typography(text: str, target: str) -> str:
    """Quote marks as the target language's news prints them (« » and “ ” become " " in en/it)."""
    if target not in _STRAIGHT_QUOTES:
        return text
    return _GUILLEMETS.sub(lambda m: '"' + (m.group(1) or m.group(2) or "") + '"', text)


def match_case(source: str, translated: str) -> str:
    """Undo the case changes Apertium makes that the source did not have.

    Apertium capitalises the start of every block, even a lower-case fragment, and the
    word after a name it does not know ("Danius said" -> "Danius Dijo", 21 of 500 FLORES
    sentences in en→es): such a word is lowered when the name is followed by a
    lower-case word in the source too.
    """
    translated = _lower_after_names(source, translated)
    src = next((c for c in source if c.isalpha()), "")
    for i, c in enumerate(translated):
        if c.isalpha():
            if src.islower() and c.isupper() and translated[i + 1 : i + 2].islower():
                return translated[:i] + c.lower() + translated[i + 1 :]
            return translated
    return translated


_CAPITALISED_PAIR = re.compile(r"\b([A-ZÀ-ÖØ-Þ][\w'’-]*) ([A-ZÀ-ÖØ-Þ])(?=[a-zà-öø-ÿ]|[^\w]|$)")


def _lower_after_names(source: str, translated: str) -> str:
    def fix(match: re.Match[str]) -> str:
        name, initial = match.group(1), match.group(2)
        word = _WORD.match(translated, match.start(2))
        if (
            re.search(r"(?<!\w)" + re.escape(name) + r" [a-zà-öø-ÿ]", source) is None
            or word is None
            or word.group() in source
        ):
            return match.group()
        return f"{name} {initial.lower()}"

    return _CAPITALISED_PAIR.sub(fix, translated)


def translate_with_quality(
    segments: Sequence[str],
    engine: Callable[[Sequence[str]], list[str]],
    target: str,
    protector: Protector,
) -> list[str]:
    """Protect, translate with ``engine`` (one call, plus one retry call if needed), restore."""
    tricks = protector.tricks
    items = protector.protect(segments)
    raw = engine([item.text for item in items])
    out: list[str] = []
    retry: list[int] = []
    for index, (item, text) in enumerate(zip(items, raw, strict=True)):
        restored = protector.restore(item, text) if item.spans else text
        if restored is None:
            retry.append(index)
            restored = ""
        out.append(restored)
    if retry:
        again = engine([segments[i] for i in retry])
        for index, text in zip(retry, again, strict=True):
            out[index] = text
    for index, text in enumerate(out):
        if not segments[index].strip():
            out[index] = segments[index]
            continue
        if tricks.normalise:
            text = normalise(text, target)
        if tricks.typography:
            text = typography(text, target)
        if tricks.case:
            text = match_case(segments[index], text)
        out[index] = text
    return out
