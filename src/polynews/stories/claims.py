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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any, NamedTuple

from polynews.stories.claims_lexicon import LEXICONS, Lexicon
from polynews.stories.claims_sentences import claim_sentences
from polynews.stories.quantities import Quantity, find_quantities

LANGUAGES = tuple(LEXICONS)
_TOKEN = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*['’]?|\S")
# Characters that close a clause before a speaker: "“...,” said X", "«...», — заявил X".
_BOUNDARY = ',;:—–«»"“”„()'
_CLOSERS = '»"“”'
_MAX_SOURCE_TOKENS = 14


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


class _Token(NamedTuple):
    text: str
    lower: str
    start: int
    end: int


@dataclass(frozen=True)
class _Cue:
    start: int
    end: int
    kind: str  # "forward", "backward", "verb"


def _tokens(sentence: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(sentence):
        text = match.group()
        tokens.append(_Token(text, text.lower(), *match.span()))
    return tokens


@cache
def _morph(language: str) -> Any:
    import pymorphy3  # only Ukrainian and Russian need it; loads its dictionary once

    return pymorphy3.MorphAnalyzer(lang=language)


@lru_cache(maxsize=65536)
def _say_lemma(word: str, language: str) -> bool:
    lexicon = LEXICONS[language]
    for parse in _morph(language).parse(word)[:2]:
        if parse.tag.POS == "VERB" and parse.normal_form in lexicon.lemmas:
            return True
    return False


@lru_cache(maxsize=65536)
def _lemma(word: str, language: str) -> str:
    return str(_morph(language).parse(word)[0].normal_form)


@lru_cache(maxsize=65536)
def _verb(word: str, language: str) -> bool:
    """A finite verb or active participle ("зросла", "вырос"), not an infinitive."""
    return any(
        (parse.tag.POS == "VERB" and "infn" not in parse.tag.grammemes)
        or "actv" in parse.tag.grammemes
        for parse in _morph(language).parse(word)[:3]
    )


def _is_verb_checker(language: str) -> Callable[[str], bool] | None:
    if language not in ("uk", "ru"):
        return None
    return lambda word: _verb(word, language)


class ClaimExtractor:
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
        self._is_verb = _is_verb_checker(language)
        # A cheap first pass: any word that could start a cue.
        words = self.lexicon.verbs | self.lexicon.participles
        words |= {pair[0] for pair in self.lexicon.particles}
        prefixes = _LEMMA_PREFIXES.get(language, frozenset())
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
        tokens = _tokens(sentence)
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

    def _cue(self, sentence: str, tokens: list[_Token]) -> _Cue | None:
        candidates: list[_Cue] = []
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
                    candidates.append(_Cue(match.start(), match.end(), kind))
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
        if any(word.strip(",.").lower() in _NOT_SPEAKERS for word in after.split()[:3]):
            return True
        if phrase == "laut" and not (first[0].isupper() or first.lower() in lexicon.determiners):
            return True  # the adjective: "laut und deutlich"
        if phrase == "secondo" and (
            previous in _ITALIAN_ORDINAL_BEFORE or first.lower() in _ITALIAN_ORDINAL_AFTER
        ):
            return True  # an ordinal: "il secondo giorno", "in secondo luogo"
        if phrase == "de acuerdo con" and previous in _SPANISH_AGREE:
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

    def _verb_cue(self, sentence: str, tokens: list[_Token], skip: set[int]) -> _Cue | None:
        lexicon = self.lexicon
        for i, token in enumerate(tokens):
            if i in skip or not self._is_saying(token, tokens, i):
                continue
            if i == 0 or (all(t.text in _BOUNDARY + "'" for t in tokens[:i]) and i < 2):
                continue  # "Reports of ...", "Estimates put ..." open the sentence
            previous = tokens[i - 1].lower
            if previous in lexicon.vetoes_before:
                continue
            # A weak verb is one that is also a noun ("claims", "dit"); after an auxiliary
            # ("a-t-elle dit") it can only be the verb.
            after_auxiliary = tokens[i - 1].lower in lexicon.auxiliaries
            weak = not after_auxiliary and (
                token.lower in lexicon.weak
                or (bool(lexicon.lemmas) and _lemma(token.lower, self.language) in lexicon.weak)
            )
            if weak and not self._followed_by_that(tokens, i):
                continue
            if not self._particle_ok(tokens, i):
                continue
            if i + 1 < len(tokens) and tokens[i + 1].lower in _FAREWELLS:
                continue  # "said goodbye", "dijo adiós": a farewell, not a statement
            end = token.end
            completion = _COMPLETIONS.get(token.lower)
            if completion is not None:
                if i + 1 >= len(tokens) or tokens[i + 1].lower != completion:
                    continue  # "ha fatto" alone is not a verb of saying; "ha fatto sapere" is
                end = tokens[i + 1].end
            start = token.start
            j = i - 1
            while j >= 0 and tokens[j].lower in lexicon.auxiliaries:
                start = tokens[j].start
                j -= 1
            return _Cue(start, end, "verb")
        so = re.search(r"(?:^|[,“”\"»])\s*(so)\s+(?=(?:der|die|das|ein|eine)\s|[A-ZÄÖÜ])", sentence)
        if self.language == "de" and so and so.start(1) > 0:
            return _Cue(so.start(1), so.end(1), "verb")
        return None

    def _is_saying(self, token: _Token, tokens: list[_Token], i: int) -> bool:
        lexicon = self.lexicon
        if lexicon.lemmas:
            word = token.lower
            return (
                len(word) > 3
                and word.isalpha()
                and word[:3] in _LEMMA_PREFIXES[self.language]
                and _say_lemma(word, self.language)
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

    def _followed_by_that(self, tokens: list[_Token], i: int) -> bool:
        following = tokens[i + 1 : i + 3]
        return any(t.lower in self.lexicon.subordinators or t.text in ",:" for t in following)

    def _clause_end(self, tokens: list[_Token], i: int) -> _Token | None:
        last = None
        for token in tokens[i + 1 :]:
            if token.text in ",.;:!?" or token.lower in self.lexicon.subordinators:
                break
            last = token
        return last

    def _particle_ok(self, tokens: list[_Token], i: int) -> bool:
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

    # -- sources --------------------------------------------------------------------

    def _forward_source(
        self, sentence: str, tokens: list[_Token], cue: _Cue
    ) -> tuple[int, int] | None:
        following = [t for t in tokens if t.start >= cue.end]
        # "según informó el ministerio", "как сообщил министр": a verb between cue and source.
        if following and self._is_saying(following[0], following, 0):
            following = following[1:]
        if following and following[0].lower in {"von", "vom", "of"}:
            following = following[1:]  # "nach Angaben von Veridian"
        span = self._phrase_after(following, forward=True)
        if span is not None:
            span = self._name_apposition(following, span)
        if span is None:
            # "За вересневими оцінками, ...": the assessments are the source.
            words = [t for t in tokens if cue.start <= t.start and t.end <= cue.end][1:]
            if len(words) > 1:
                return (words[0].start, words[-1].end)
        return span

    def _name_apposition(self, following: list[_Token], span: tuple[int, int]) -> tuple[int, int]:
        """Extend "Selon la responsable, Rocío Almansa, 600 ..." over the name in commas."""
        rest = [t for t in following if t.start >= span[1]]
        if len(rest) < 3 or rest[0].text != ",":
            return span
        name: list[_Token] = []
        for token in rest[1:6]:
            if token.text == ",":
                break
            if not token.text[:1].isupper():
                return span
            name.append(token)
        closing = len(name) + 1
        if name and closing < len(rest) and rest[closing].text == ",":
            return (span[0], name[-1].end)
        return span

    def _backward_source(
        self, sentence: str, tokens: list[_Token], cue: _Cue
    ) -> tuple[int, int] | None:
        before = [t for t in tokens if t.end <= cue.start]
        phrase: list[_Token] = []
        for token in reversed(before):
            if token.text in _BOUNDARY:
                break
            phrase.insert(0, token)
        phrase = self._drop_intro(phrase)
        return (phrase[0].start, phrase[-1].end) if phrase else None

    def _verb_source(
        self, sentence: str, tokens: list[_Token], cue: _Cue
    ) -> tuple[int, int] | None:
        lexicon = self.lexicon
        before = [t for t in tokens if t.end <= cue.start]
        after = [t for t in tokens if t.start >= cue.end]
        segment: list[_Token] = []
        for token in reversed(before):
            if token.text in _BOUNDARY:
                break
            segment.insert(0, token)
        while segment and segment[0].lower in lexicon.leading:
            segment = segment[1:]
        opens_with_intro = bool(segment) and segment[0].lower in lexicon.intro
        if segment and not opens_with_intro:
            segment = self._trim(segment)
            return (segment[0].start, segment[-1].end) if segment else None
        told = self.sentence_cue_word(sentence, cue) in _TELL
        speaker_after = None if told else self._phrase_after(after, verb=True)
        if speaker_after is not None:
            return speaker_after
        if segment:
            segment = self._trim(self._drop_intro(segment))
            return (segment[0].start, segment[-1].end) if segment else None
        # "Lucia Ferrandi, the mayor, said that ...": the subject and its apposition.
        # "“...,” Kateryna Bondar, a spokeswoman, told a local radio station."
        # Reaching here with words after the verb means they are its content (a number,
        # "that ...", an audience), so the speaker is the subject with its apposition.
        content_follows = told or (bool(after) and after[0].text not in ".!?")
        closers = [k for k, t in enumerate(before) if t.text in _CLOSERS + "—–"]
        head = before[closers[-1] + 1 :] if closers else before
        if content_follows and head and before[-1].text == ",":
            words = [t for t in head if t.text not in ","]
            if len(words) > _MAX_SOURCE_TOKENS:
                # A long apposition ("X, a regional director of ... who joined ..., said"):
                # keep the phrase before its first comma, the name.
                first_comma = next(k for k, t in enumerate(head) if t.text == ",")
                words = head[:first_comma]
            # A subject is short and has no figures; otherwise the text before the comma is
            # content ("Ports shipped 2,3 million tonnes, сообщили в среду").
            if words and not any(t.text[:1].isdigit() for t in words):
                words = self._trim(words)
                return (words[0].start, words[-1].end) if words else None
        return None

    @staticmethod
    def sentence_cue_word(sentence: str, cue: _Cue) -> str:
        """The last word of a cue, lower-cased ("told" in "has told")."""
        words = sentence[cue.start : cue.end].lower().split()
        return words[-1] if words else ""

    def _phrase_after(
        self, following: list[_Token], verb: bool = False, forward: bool = False
    ) -> tuple[int, int] | None:
        lexicon = self.lexicon
        phrase: list[_Token] = []
        for k, token in enumerate(following):
            if token.lower in lexicon.subordinators or token.text in '.;:!?—–«»"“”„()':
                break
            nxt = following[k + 1] if k + 1 < len(following) else None
            if forward and phrase and self._ends_source(token, nxt):
                break  # "Laut Polizei wurden ...", "По данным МЧС эвакуированы ..."
            if token.text == ",":
                nxt = following[k + 1] if k + 1 < len(following) else None
                # Continue over an apposition: "Lucia Ferrandi, the mayor of Borgoleone".
                if not verb or nxt is None or not self._apposition(nxt):
                    break
                phrase.append(token)
                continue
            if phrase and token.lower in lexicon.stops:
                break
            if verb and not phrase and token.lower in lexicon.audience:
                return None  # "dijo a los periodistas": the speaker is before the verb
            if verb and not phrase and token.lower in _CONTENT_STARTS[self.language]:
                return None  # "said she had cried", "a confié avoir ...": content follows
            if verb and token.text[:1].isdigit():
                if "," not in [t.text for t in phrase]:
                    return None  # "said more than 180 millimetres ...": content, not a speaker
                while phrase[-1].text != ",":
                    phrase.pop()  # "сообщил губернатор, работают 450 ...": keep the speaker
                break
            phrase.append(token)
            if len(phrase) >= _MAX_SOURCE_TOKENS:
                break
        while phrase and (phrase[-1].text == "," or phrase[-1].lower in lexicon.intro):
            phrase.pop()
        phrase = self._trim(phrase)
        if not phrase:
            return None
        return (phrase[0].start, phrase[-1].end)

    def _ends_source(self, token: _Token, nxt: _Token | None) -> bool:
        """Whether a source after a prepositional cue, written without a comma, ends here."""
        if token.text[:1].isdigit():
            return True
        if self.language == "de":
            # German capitalises nouns: the phrase runs over nouns, articles, genitive links
            # and adjectives before a noun ("der rumänischen Behörden").
            adjective = (
                token.lower.endswith(("e", "en", "er", "es", "em"))
                and nxt is not None
                and nxt.text[:1].isupper()
            )
            return not (
                token.text[:1].isupper()
                or adjective
                or token.lower in self.lexicon.determiners
                or token.lower in {"von", "vom", "für", "im", "zur", "zum"}
            )
        if self.language in ("uk", "ru"):
            return (
                token.text.isalpha() and token.text.islower() and _verb(token.lower, self.language)
            )
        return False

    def _apposition(self, token: _Token) -> bool:
        lexicon = self.lexicon
        if token.lower in lexicon.stops or token.lower in lexicon.subordinators:
            return False
        if self.language == "de":
            # "sagte Weber, Chefin der Gewerkschaft" but "sagte der Minister, die Bahn habe".
            return token.text[:1].isupper() and token.lower not in lexicon.determiners
        if self.language in ("uk", "ru") and _verb(token.lower, self.language):
            return False  # "заявил министр, работают ...": a clause, not an apposition
        if token.lower in _PREPOSITIONS[self.language]:
            return False  # "a annoncé le gouvernement, à l'occasion de ...": an adverbial
        return token.lower in lexicon.determiners or token.text[:1].isalpha()

    def _drop_intro(self, phrase: list[_Token]) -> list[_Token]:
        while phrase and phrase[0].lower in self.lexicon.intro:
            phrase = phrase[1:]
        return phrase

    def _trim(self, phrase: list[_Token]) -> list[_Token]:
        """Drop time words and their preposition ("on Tuesday", "am Montag") from a source."""
        lexicon = self.lexicon
        kept: list[_Token] = []
        for token in phrase:
            if token.lower in _TIME_WORDS[self.language]:
                if kept and kept[-1].lower in lexicon.intro | _TIME_PREPOSITIONS:
                    kept.pop()
                continue
            kept.append(token)
        while kept and (kept[-1].text in _BOUNDARY or kept[-1].lower in lexicon.audience):
            kept.pop()
        return kept

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


def _w(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ITALIAN_ORDINAL_BEFORE = _w("il al del nel dal un lo la in per ogni col è arrivato arrivata posto")
_ITALIAN_ORDINAL_AFTER = _w("luogo tempo posto piano turno giorno anno")
_SPANISH_AGREE = _w("está están estoy estamos estaba estaban estar muy no totalmente mostró se")
_QUOTATION = re.compile(r"«[^»]*»|„[^“”]*[“”]|“[^”]*”|\"[^\"]*\"|»[^«]*«")
# Words that open reported content right after a verb of saying, so the speaker is not
# there: subject pronouns (not in German, Ukrainian and Russian, where "sagte er",
# "сказал он" are the usual inversion) and infinitive markers.
_CONTENT_STARTS = {
    "en": _w("he she they it we i to"),
    "fr": _w("il elle ils elles nous je avoir être"),
    "es": _w("haber ser"),
    "it": _w("di aver avere essere"),
    "de": frozenset[str](),
    "uk": frozenset[str](),
    "ru": frozenset[str](),
}
_PREPOSITIONS = {
    "en": _w("in at on to for with by from during after before outside inside"),
    "fr": _w("à au aux en dans pour par avec lors après avant sur devant"),
    "es": _w("a en con por para durante tras ante sobre"),
    "it": _w("a in con per durante dopo su davanti"),
    "de": _w("in im am an auf bei nach vor mit"),
    "uk": _w("у в на з із до по для під після під час"),
    "ru": _w("в во на с со до по для под после"),
}
_SET_OFF = ',;:—–«»"“”„('
_TELL = _w("told tells tell")
# Participles that say something only with the next word: "ha fatto sapere".
_COMPLETIONS = {"fatto": "sapere", "fait": "savoir", "fanno": "sapere", "fa": "sapere"}
_FAREWELLS = _w("goodbye farewell adieu adiós addio")
# Heads of phrases after "according to" that name a rule followed, not a speaker.
_NOT_SPEAKERS = _w(
    "vraisemblance probabilité plan plans schedule timetable rules regulations law horaires "
    "calendrier règles loi programme prévu fahrplan regeln gesetz horario calendario reglas "
    "ley orario regole legge графіком графиком планом розкладом расписанию правилам закону"
)
_TIME_PREPOSITIONS = _w("on am le el il в у in la por di")
_TIME_WORDS = {
    "en": _w(
        "monday tuesday wednesday thursday friday saturday sunday yesterday today morning "
        "afternoon evening night"
    ),
    "fr": _w("lundi mardi mercredi jeudi vendredi samedi dimanche hier soir matin après-midi"),
    "de": _w(
        "montag dienstag mittwoch donnerstag freitag samstag sonntag gestern abend morgen "
        "mittag nachmittag vormittag abends"
    ),
    "es": _w("lunes martes miércoles jueves viernes sábado domingo ayer tarde noche"),
    "it": _w(
        "lunedì martedì mercoledì giovedì venerdì sabato domenica ieri sera mattina pomeriggio"
    ),
    "uk": _w(
        "понеділок вівторок середу четвер п'ятницю пʼятницю суботу неділю вчора ввечері вранці"
    ),
    "ru": _w("понедельник вторник среду четверг пятницу субботу воскресенье вчера вечером утром"),
}
# First letters of the verbs of saying, to skip morphology for most words; "йде" is
# "йдеться" (the lemma "йтися" begins otherwise).
_LEMMA_PREFIXES = {
    language: frozenset(lemma[:3] for lemma in LEXICONS[language].lemmas) | {"йде"}
    for language in ("uk", "ru")
}
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
