"""Sentence splitting for sentence-level engines, with per-language abbreviations.

Neural models are trained on single sentences and degrade on long paragraphs, so the
CTranslate2 backend splits each paragraph into sentences, translates them, and puts
the paragraph back together with the original separators. The splitter is a regular
expression over candidate boundaries (``.``, ``!``, ``?``, ``…``, optionally followed
by closing quotes or brackets) plus rules that veto a boundary:

* the word before the full stop is a known abbreviation of the language
  (``Dr.``, ``z. B.``, ``M.``, ``Sr.``, ``ім.``) or an initial (``J. Smith``),
  or a dotted acronym (``U.S.``, ``EE.UU.``);
* the next word does not start like a sentence (lower case, a comma, a digit after
  an abbreviation);
* in German, an ordinal number (``am 3. Oktober``).

It needs no data files and never touches the network.
"""

from __future__ import annotations

import re
from collections.abc import Iterator


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Lower-cased, without the final full stop. Words that often end a sentence
# ("etc.", "usw.") are left out on purpose: the capital letter after them decides.
_COMMON = frozenset({"dr", "prof", "st", "vol", "art", "ca", "cf", "fig", "vs"})
# Abbreviations only before a number: "No. 5" but "I said no. Then".
_BEFORE_NUMBER = frozenset({"no", "nr", "n", "núm", "nº", "p", "pp", "s", "tel", "№"})
ABBREVIATIONS: dict[str, frozenset[str]] = {
    "en": _words(
        "mr mrs ms jr sr inc ltd co corp gen gov sen rep lt col sgt capt cmdr adm "
        "rev hon pres dept univ approx jan feb mar apr jun jul aug sep sept "
        "oct nov dec mt ft e.g i.e a.m p.m u.s u.k"
    ),
    "de": _words(
        "hr hrn fr frl dipl ing bzw ggf vgl evtl ca inkl exkl zzgl abs bd jh jhd "
        "mio mrd tsd str dt z.b z b u.a d.h s u o v chr n.chr v.chr gegr geb gest "
        "sog bspw insb jan feb aug sept okt nov dez"
    ),
    "fr": _words(
        "m mm mme mmes mlle mlles me mgr pr av bd boul env p pp éd chap janv févr "
        "avr juil sept oct déc j.-c c.-à-d cie ste st"
    ),
    "es": _words(
        "sr sra srta sres dra lic ing arq ud uds vd vds d dña da pág págs núm tel "
        "avda av c gral ee.uu cía aprox ene feb abr ago sept oct dic"
    ),
    "it": _words(
        "sig sigg sig.ra sig.na dott dott.ssa ing avv arch geom rag on sen gen "
        "mons pag pagg tel s.p.a s.r.l ecc feb apr giu lug ago sett ott dic"
    ),
    "uk": _words(
        "р рр ст ім вул просп пл буд кв м с смт обл див напр т д п тис млн млрд "
        "грн дол проф акад доц канд пан пані ген л н.е т.д т.п і.т.д"
    ),
}

# German month names: "am 3. Oktober" is an ordinal, not the end of a sentence.
_GERMAN_MONTHS = _words(
    "januar februar märz april mai juni juli august september oktober november dezember jänner"
)

# “ and ‘ close quotations in German („So.“); after a full stop they cannot open one.
_CLOSERS = "\"'”’“‘»)]}›"
_OPENERS = "\"'“‘«„([{‹¿¡—–-"
# A candidate boundary: terminal punctuation (runs allowed: "?!", "..."), any closing
# quotes or brackets, then whitespace. The split point is after the closers.
# French sets a (narrow) space inside guillemets: "« Entrez. »".
_BOUNDARY = re.compile(rf"[.!?…]+(?:[{re.escape(_CLOSERS)}]|[ \u00a0\u2009\u202f][»›])*(?=\s)")
_WORD_BEFORE = re.compile(r"(\S+)$")
# Letters only: "U.S", "z.B", "EE.UU" are acronyms; "802.11g" and "6.5" are not.
_DOTTED = re.compile(r"^(?:[^\W\d_]{1,3}\.)+[^\W\d_]{0,3}$")


def split_sentences(text: str, lang: str) -> list[str]:
    """Split ``text`` into sentences; joining them with the original separators gives ``text``."""
    return [text[start:end] for start, end in sentence_spans(text, lang)]


def sentence_spans(text: str, lang: str, max_chars: int = 0) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence of ``text``, stripped of surrounding space.

    With ``max_chars`` > 0, a sentence longer than that is cut further at clause
    punctuation or spaces, so an engine with a length limit never truncates text.
    """
    spans: list[tuple[int, int]] = []
    # A line break inside a paragraph is one the author meant (a list, a verse): keep it.
    for line in re.finditer(r"[^\n]+", text):
        start = line.start()
        for end in _boundaries(line.group(), lang):
            spans.extend(_strip(text, start, line.start() + end))
            start = line.start() + end
        spans.extend(_strip(text, start, line.end()))
    if max_chars > 0:
        spans = [piece for span in spans for piece in _cut_long(text, span, max_chars)]
    return spans


def _boundaries(text: str, lang: str) -> Iterator[int]:
    abbreviations = ABBREVIATIONS.get(lang, frozenset()) | _COMMON
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        rest = text[end:].lstrip()
        if not rest or not _starts_sentence(rest):
            continue
        punct = match.group()
        if punct.startswith(".") and not punct.startswith("..."):
            before = _WORD_BEFORE.search(text, 0, match.start())
            word = before.group(1) if before else ""
            if _is_abbreviation(word, abbreviations, rest, lang):
                continue
        yield end


def _starts_sentence(rest: str) -> bool:
    first = re.sub(rf"^[\s{re.escape(_OPENERS)}]+", "", rest)
    if not first:
        return False
    char = first[0]
    return char.isupper() or char.isdigit() or (rest[0] in _OPENERS and char.isalpha())


def _is_abbreviation(word: str, abbreviations: frozenset[str], rest: str, lang: str) -> bool:
    word = word.lstrip(_OPENERS)
    lowered = word.lower()
    if lowered in abbreviations:
        return True
    if lowered in _BEFORE_NUMBER and rest[:1].isdigit():
        return True
    if len(word) == 1 and word.isalpha() and word.isupper():
        return True  # an initial: "J. Smith", "Б. Хмельницький"
    if "." in word and _DOTTED.match(word):
        return True  # "U.S.", "z.B.", "EE.UU.", "S.p.A."
    if lang == "de" and word.isdigit() and len(word) <= 2:
        following = re.match(r"\w+", rest)
        return following is not None and following.group().lower() in _GERMAN_MONTHS
    return False


def _strip(text: str, start: int, end: int) -> list[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [(start, end)] if start < end else []


def _cut_long(text: str, span: tuple[int, int], max_chars: int) -> list[tuple[int, int]]:
    start, end = span
    pieces: list[tuple[int, int]] = []
    while end - start > max_chars:
        window = text[start : start + max_chars]
        cut = max(window.rfind("; "), window.rfind(", "), window.rfind(": "))
        if cut <= 0:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = max_chars - 1  # one unbroken token: cut it rather than lose it
        pieces.extend(_strip(text, start, start + cut + 1))
        start += cut + 1
    pieces.extend(_strip(text, start, end))
    return pieces


def join_sentences(text: str, spans: list[tuple[int, int]], translated: list[str]) -> str:
    """Rebuild a paragraph from translated sentences, keeping line breaks between them."""
    if len(spans) != len(translated):
        raise ValueError(f"{len(spans)} sentences but {len(translated)} translations")
    out: list[str] = []
    for i, sentence in enumerate(translated):
        if i:
            gap = text[spans[i - 1][1] : spans[i][0]]
            out.append("\n" if "\n" in gap else " ")
        out.append(sentence.strip())
    return "".join(out)


__all__ = ["ABBREVIATIONS", "join_sentences", "sentence_spans", "split_sentences"]
