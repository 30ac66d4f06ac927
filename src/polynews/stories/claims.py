"""Attributed claims: who says what, with which figures, in en, es, de, fr, it, uk and ru.

A claim is a sentence that reports a statement and names (or implies) who makes it.
The extractor is a handful of rules shared by all languages over small per-language
word lists (:mod:`polynews.stories.claims_lexicon`), so every decision can be
explained by pointing at a cue and a span:

1. **Cues.** A prepositional cue puts the source after it ("according to X",
   "selon X", "laut X", "за словами X", "по данным X") or before it ("X zufolge");
   a verb of saying puts the content beside the speaker ("X said that ...",
   "..., a déclaré X", "«...», — заявил X"). Ukrainian and Russian verbs are
   recognised by lemma through ``pymorphy3``, so every form counts. The leftmost cue
   of a sentence wins; a sentence without one is not a claim, whatever numbers it has.
2. **Vetoes** keep look-alikes out: "an estimated 2,000", "the said painting",
   "was told to leave", "laut" the adjective, "il secondo giorno", "sagte ... ab".
3. **Source.** For a verb, the phrase between the last clause boundary (comma, quote,
   dash) and the verb is the speaker; when that is empty or an adverbial ("Am
   Montag sagte der Minister", "Как заявил министр"), the speaker follows the verb.
   The phrase stops at a relative pronoun, "that", a time word or an audience ("told
   reporters"). A pronoun takes the source of the previous claim of the paragraph when
   there is one; otherwise the source is left out.
4. **Content** is the sentence without the attribution; its **quantities** are those
   of :mod:`polynews.stories.quantities` that lie outside the attribution.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from polynews.stories import claims_lexicon as lexicon_words
from polynews.stories import claims_morphology as morphology
from polynews.stories.claims_lexicon import LEXICONS, Lexicon
from polynews.stories.claims_sentences import claim_sentences
from polynews.stories.claims_sources import BOUNDARY, Cue, SourceRules, Token, tokenize
from polynews.stories.quantities import Quantity, find_quantities

LANGUAGES = tuple(LEXICONS)


@dataclass(frozen=True)
class Claim:
    """One attributed statement of a paragraph."""

    line: int
    sentence: str
    source: str | None
    cue: str
    content: str
    quantities: tuple[Quantity, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        """The JSON-lines form of ``polynews claims extract``."""
        return {
            "line": self.line,
            "sentence": self.sentence,
            "source": self.source,
            "cue": self.cue,
            "content": self.content,
            "quantities": [quantity.as_dict() for quantity in self.quantities],
        }


class ClaimExtractor(SourceRules):
    """Rule-based extractor for one language; cheap to build, safe to reuse."""

    def __init__(self, language: str) -> None:
        if language not in LEXICONS:
            raise ValueError(
                f"claims: unsupported language {language!r}; use one of {', '.join(LANGUAGES)}"
            )
        self.language = language
        self.lexicon: Lexicon = LEXICONS[language]
        phrases = sorted(
            [(p, "forward") for p in self.lexicon.forward]
            + [(p, "backward") for p in self.lexicon.backward],
            key=lambda item: -len(item[0]),
        )
        self._phrase_kind = dict(phrases)
        self._phrases = (
            re.compile(
                r"(?<!\w)(" + "|".join(self._phrase_pattern(p) for p, _ in phrases) + r")(?!\w)",
                re.IGNORECASE,
            )
            if phrases
            else None
        )
        self._is_verb = morphology.verb_checker(language)
        # A cheap first pass: any word that could start a cue.
        words = self.lexicon.verbs | self.lexicon.participles
        words |= {pair[0] for pair in self.lexicon.particles}
        prefixes = morphology.LEMMA_PREFIXES.get(language, frozenset())
        alternatives = [self._phrase_pattern(p) for p, _ in phrases]
        alternatives += [re.escape(w) for w in sorted(words, key=len, reverse=True)]
        alternatives += [re.escape(p) + r"\w*" for p in sorted(prefixes)]
        if language == "de":
            alternatives.append("so")
        self._maybe = re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.I)

    def _phrase_pattern(self, phrase: str) -> str:
        words = [re.escape(word) for word in phrase.split()]
        if self.language in ("uk", "ru") and len(words) == 2 and words[0] in ("за", "по"):
            # "за (вересневими) оцінками", "по (предварительным) данным"
            return rf"{words[0]}\s+(?:\w+(?:ими|ими|ыми|ним|ным|им|ой|ій)\s+)?{words[1]}"
        return r"\s+".join(words)

    def _kind(self, matched: str) -> str:
        lowered = " ".join(matched.lower().split())
        if lowered in self._phrase_kind:
            return self._phrase_kind[lowered]
        return "forward"  # a phrase with an adjective inside: "за вересневими оцінками"

    def paragraph(self, text: str, line: int = 1) -> list[Claim]:
        """The claims of one paragraph, in order."""
        claims: list[Claim] = []
        for start, end in claim_sentences(text, self.language):
            sentence = text[start:end]
            previous = claims[-1].source if claims else None
            claim = self.sentence(sentence, line, previous)
            if claim is not None:
                claims.append(claim)
        return claims

    def sentence(self, sentence: str, line: int = 1, previous: str | None = None) -> Claim | None:
        """The claim of one sentence, or None when nobody is said to state it."""
        if not self._maybe.search(sentence):
            return None  # no cue word at all: most sentences stop here, cheaply
        tokens = tokenize(sentence)
        cue = self._cue(sentence, tokens)
        if cue is None:
            return None
        if cue.kind == "forward":
            span = self._forward_source(sentence, tokens, cue)
        elif cue.kind == "backward":
            span = self._backward_source(sentence, tokens, cue)
        else:
            span = self._verb_source(sentence, tokens, cue)
        source = _clean(sentence[span[0] : span[1]]) if span else None
        if source and source.lower() in self.lexicon.pronouns:
            source = previous  # trivially resolved, or left out
        lo = min(cue.start, span[0]) if span else cue.start
        hi = max(cue.end, span[1]) if span else cue.end
        content = self._content(sentence, lo, hi)
        quantities = tuple(
            q
            for q in find_quantities(sentence, self.language, self._is_verb)
            if q.end <= lo or q.start >= hi
        )
        return Claim(
            line=line,
            sentence=sentence,
            source=source or None,
            cue=sentence[cue.start : cue.end],
            content=content,
            quantities=quantities,
        )

    # -- cues -----------------------------------------------------------------------

    def _cue(self, sentence: str, tokens: list[Token]) -> Cue | None:
        candidates: list[Cue] = []
        # Words inside a quotation are the quoted speaker's, not the reporter's cue:
        # "“Nobody goes home until we say so,” the mayor told reporters."
        quoted = [m.span() for m in _QUOTATION.finditer(sentence)]

        def inside(position: int) -> bool:
            return any(start < position < end for start, end in quoted)

        if self._phrases is not None:
            for match in self._phrases.finditer(sentence):
                kind = self._kind(match.group(1))
                if inside(match.start()):
                    continue
                if not self._phrase_vetoed(sentence, match.start(), match.end()):
                    candidates.append(Cue(match.start(), match.end(), kind))
                    break
        skip = {i for i, t in enumerate(tokens) if inside(t.start)} if quoted else set()
        verb = self._verb_cue(sentence, tokens, skip)
        if verb is not None:
            candidates.append(verb)
        return min(candidates, key=lambda c: c.start) if candidates else None

    def _phrase_vetoed(self, sentence: str, start: int, end: int) -> bool:
        lexicon = self.lexicon
        phrase = " ".join(sentence[start:end].lower().split())
        before = sentence[:start].rstrip().lower()
        after = sentence[end:].lstrip()
        previous = before.split()[-1] if before.split() else ""
        if not after or after[0] in ".;:!?":
            return True
        first = after.split()[0]
        # "according to the timetable", "selon les horaires": a rule followed, not a speaker.
        if any(
            word.strip(",.").lower() in lexicon_words.NOT_SPEAKERS for word in after.split()[:3]
        ):
            return True
        if phrase == "laut" and not (first[0].isupper() or first.lower() in lexicon.determiners):
            return True  # the adjective: "laut und deutlich"
        if phrase == "secondo" and (
            previous in lexicon_words.ITALIAN_ORDINAL_BEFORE
            or first.lower() in lexicon_words.ITALIAN_ORDINAL_AFTER
        ):
            return True  # an ordinal: "il secondo giorno", "in secondo luogo"
        if phrase == "de acuerdo con" and previous in lexicon_words.SPANISH_AGREE:
            return True  # to agree: "no están de acuerdo con"
        if phrase == "selon" and after.lower().startswith(("que ", "qu'", "qu’", "le cas")):
            return True  # "selon que", "selon le cas"
        if phrase in ("citing", "quoting") and not before:
            return True  # "Citing ..." opens a sentence about something else
        # An attribution opens the sentence (or a clause) or is set off by a comma:
        # "Selon X, ..." / "..., selon X." but "une indemnisation selon le degré des dégâts".
        # German puts "laut X" anywhere in the clause, so it is left out of this rule.
        set_off = not before or before[-1] in _SET_OFF
        return self.language != "de" and not set_off

    def _verb_cue(self, sentence: str, tokens: list[Token], skip: set[int]) -> Cue | None:
        lexicon = self.lexicon
        for i, token in enumerate(tokens):
            if i in skip or not self._is_saying(token, tokens, i):
                continue
            if i == 0 or (all(t.text in BOUNDARY + "'" for t in tokens[:i]) and i < 2):
                continue  # "Reports of ...", "Estimates put ..." open the sentence
            previous = tokens[i - 1].lower
            if previous in lexicon.vetoes_before:
                continue
            # A weak verb is one that is also a noun ("claims", "dit"); after an auxiliary
            # ("a-t-elle dit") it can only be the verb.
            after_auxiliary = tokens[i - 1].lower in lexicon.auxiliaries
            weak = not after_auxiliary and (
                token.lower in lexicon.weak
                or (
                    bool(lexicon.lemmas)
                    and morphology.lemma(token.lower, self.language) in lexicon.weak
                )
            )
            if weak and not self._followed_by_that(tokens, i):
                continue
            if not self._particle_ok(tokens, i):
                continue
            if i + 1 < len(tokens) and tokens[i + 1].lower in lexicon_words.FAREWELLS:
                continue  # "said goodbye", "dijo adiós": a farewell, not a statement
            end = token.end
            completion = lexicon_words.COMPLETIONS.get(token.lower)
            if completion is not None:
                if i + 1 >= len(tokens) or tokens[i + 1].lower != completion:
                    continue  # "ha fatto" alone is not a verb of saying; "ha fatto sapere" is
                end = tokens[i + 1].end
            start = token.start
            j = i - 1
            while j >= 0 and tokens[j].lower in lexicon.auxiliaries:
                start = tokens[j].start
                j -= 1
            return Cue(start, end, "verb")
        so = re.search(r"(?:^|[,“”\"»])\s*(so)\s+(?=(?:der|die|das|ein|eine)\s|[A-ZÄÖÜ])", sentence)
        if self.language == "de" and so and so.start(1) > 0:
            return Cue(so.start(1), so.end(1), "verb")
        return None

    def _is_saying(self, token: Token, tokens: list[Token], i: int) -> bool:
        lexicon = self.lexicon
        if lexicon.lemmas:
            word = token.lower
            return (
                len(word) > 3
                and word.isalpha()
                and word[:3] in morphology.LEMMA_PREFIXES[self.language]
                and morphology.says(word, self.language)
            )
        if self.language == "de" and not token.text[:1].islower():
            return False  # "Sagte" never starts a claim; capitalised words are nouns
        if token.lower in lexicon.verbs:
            return True
        if token.lower in lexicon.participles:
            j = i - 1
            while j >= 0 and tokens[j].lower in {"pas", "également", "aussi", "anche", "già",
                                                 "también", "ya", "auch", "bereits"}:  # fmt: skip
                j -= 1
            return j >= 0 and tokens[j].lower in lexicon.auxiliaries
        return False

    def _followed_by_that(self, tokens: list[Token], i: int) -> bool:
        following = tokens[i + 1 : i + 3]
        return any(t.lower in self.lexicon.subordinators or t.text in ",:" for t in following)

    def _clause_end(self, tokens: list[Token], i: int) -> Token | None:
        last = None
        for token in tokens[i + 1 :]:
            if token.text in ",.;:!?" or token.lower in self.lexicon.subordinators:
                break
            last = token
        return last

    def _particle_ok(self, tokens: list[Token], i: int) -> bool:
        rules = [r for r in self.lexicon.particles if r[0] == tokens[i].lower]
        if not rules:
            return True
        last = self._clause_end(tokens, i)
        ending = last.lower if last else ""
        for _, particle, needed in rules:
            if not needed and ending == particle:
                return False
        needed_particles = [p for _, p, needed in rules if needed]
        return not needed_particles or ending in needed_particles

    # -- content --------------------------------------------------------------------

    def _content(self, sentence: str, lo: int, hi: int) -> str:
        strip = " \t,;:—–-«»\"“”„'"
        left = sentence[:lo].strip(strip)
        right = sentence[hi:].strip(strip + ".")
        words = right.split()
        for k, word in enumerate(words[:4]):
            if word.lower().strip(",") in self.lexicon.subordinators or word.lower().startswith(
                ("qu'", "qu’")
            ):
                right = (
                    " ".join(words[k + 1 :])
                    if word.lower() in self.lexicon.subordinators
                    else (" ".join([word[3:], *words[k + 1 :]]))
                )
                break
        left = left.rstrip(".")
        left_words = left.split()
        if left_words and left_words[-1].lower() in self.lexicon.intro:
            left = " ".join(left_words[:-1])  # "В министерстве заявили": drop the "В"
        right_words = right.split()
        if (
            right_words
            and right_words[0].lower() in self.lexicon.audience - self.lexicon.determiners
        ):
            right = " ".join(right_words[1:])  # "... told reporters"
        return " ".join(piece for piece in (left, right) if piece).strip(strip)


def _clean(text: str) -> str:
    return text.strip(" ,;:—–-«»\"“”„'").strip()


_QUOTATION = re.compile(r"«[^»]*»|„[^“”]*[“”]|“[^”]*”|\"[^\"]*\"|»[^«]*«")
_SET_OFF = ',;:—–«»"“”„('


_EXTRACTORS: dict[str, ClaimExtractor] = {}


def extractor(language: str) -> ClaimExtractor:
    """The shared extractor of ``language`` (built once)."""
    if language not in _EXTRACTORS:
        _EXTRACTORS[language] = ClaimExtractor(language)
    return _EXTRACTORS[language]


def extract_claims(text: str, language: str, line: int = 1) -> list[Claim]:
    """The attributed claims of one paragraph of ``language``."""
    return extractor(language).paragraph(text, line)


def extract_claims_lines(lines: Iterable[str], language: str) -> Iterator[dict[str, Any]]:
    """One JSON-ready dict per attributed statement of each line (one paragraph a line)."""
    engine = extractor(language)
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if text:
            for claim in engine.paragraph(text, number):
                yield claim.as_dict()


__all__ = [
    "LANGUAGES",
    "Claim",
    "ClaimExtractor",
    "extract_claims",
    "extract_claims_lines",
    "extractor",
]
