"""Who is speaking: the source phrase of a claim, found around its cue.

A prepositional cue names the source after it ("according to the ministry, ...") or
before it ("dem Ministerium zufolge"). A verb of saying has its speaker before it
("the ministry said that ...") or after it, when nothing but an adverbial precedes it
("..., said Anna Weber", "Am Montag sagte der Minister", "Как заявил министр").
The phrase runs over an apposition ("Lucia Ferrandi, the mayor of Borgoleone") and
stops at a relative pronoun, "that", a time word, an audience ("told reporters") or a
figure (a speaker has no figures; "said more than 180 millimetres ..." is content).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from polynews.stories import claims_lexicon as lexicon_words
from polynews.stories import claims_morphology as morphology
from polynews.stories.claims_lexicon import Lexicon

_TOKEN = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*['’]?|\S")
# Characters that close a clause before a speaker: "“...,” said X", "«...», — заявил X".
BOUNDARY = ',;:—–«»"“”„()'
CLOSERS = '»"“”'
MAX_SOURCE_TOKENS = 14


class Token(NamedTuple):
    """A word or punctuation mark of a sentence, with its offsets."""

    text: str
    lower: str
    start: int
    end: int


@dataclass(frozen=True)
class Cue:
    """Where the cue of a claim is, and which kind it is."""

    start: int
    end: int
    kind: str  # "forward", "backward", "verb"


def tokenize(sentence: str) -> list[Token]:
    """Words (with inner hyphens and apostrophes) and single punctuation marks."""
    tokens = []
    for match in _TOKEN.finditer(sentence):
        text = match.group()
        tokens.append(Token(text, text.lower(), *match.span()))
    return tokens


class SourceRules:
    """The source-finding half of :class:`polynews.stories.claims.ClaimExtractor`."""

    language: str
    lexicon: Lexicon

    def _is_saying(self, token: Token, tokens: list[Token], i: int) -> bool:
        raise NotImplementedError

    # -- sources --------------------------------------------------------------------

    def _forward_source(
        self, sentence: str, tokens: list[Token], cue: Cue
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

    def _name_apposition(self, following: list[Token], span: tuple[int, int]) -> tuple[int, int]:
        """Extend "Selon la responsable, Rocío Almansa, 600 ..." over the name in commas."""
        rest = [t for t in following if t.start >= span[1]]
        if len(rest) < 3 or rest[0].text != ",":
            return span
        name: list[Token] = []
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
        self, sentence: str, tokens: list[Token], cue: Cue
    ) -> tuple[int, int] | None:
        before = [t for t in tokens if t.end <= cue.start]
        phrase: list[Token] = []
        for token in reversed(before):
            if token.text in BOUNDARY:
                break
            phrase.insert(0, token)
        phrase = self._drop_intro(phrase)
        return (phrase[0].start, phrase[-1].end) if phrase else None

    def _verb_source(self, sentence: str, tokens: list[Token], cue: Cue) -> tuple[int, int] | None:
        lexicon = self.lexicon
        before = [t for t in tokens if t.end <= cue.start]
        after = [t for t in tokens if t.start >= cue.end]
        segment: list[Token] = []
        for token in reversed(before):
            if token.text in BOUNDARY:
                break
            segment.insert(0, token)
        while segment and segment[0].lower in lexicon.leading:
            segment = segment[1:]
        opens_with_intro = bool(segment) and segment[0].lower in lexicon.intro
        if segment and not opens_with_intro:
            segment = self._trim(segment)
            return (segment[0].start, segment[-1].end) if segment else None
        told = self.sentence_cue_word(sentence, cue) in lexicon_words.TELL
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
        closers = [k for k, t in enumerate(before) if t.text in CLOSERS + "—–"]
        head = before[closers[-1] + 1 :] if closers else before
        if content_follows and head and before[-1].text == ",":
            words = [t for t in head if t.text not in ","]
            if len(words) > MAX_SOURCE_TOKENS:
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
    def sentence_cue_word(sentence: str, cue: Cue) -> str:
        """The last word of a cue, lower-cased ("told" in "has told")."""
        words = sentence[cue.start : cue.end].lower().split()
        return words[-1] if words else ""

    def _phrase_after(
        self, following: list[Token], verb: bool = False, forward: bool = False
    ) -> tuple[int, int] | None:
        lexicon = self.lexicon
        phrase: list[Token] = []
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
            if verb and not phrase and token.lower in lexicon_words.CONTENT_STARTS[self.language]:
                return None  # "said she had cried", "a confié avoir ...": content follows
            if verb and token.text[:1].isdigit():
                if "," not in [t.text for t in phrase]:
                    return None  # "said more than 180 millimetres ...": content, not a speaker
                while phrase[-1].text != ",":
                    phrase.pop()  # "сообщил губернатор, работают 450 ...": keep the speaker
                break
            phrase.append(token)
            if len(phrase) >= MAX_SOURCE_TOKENS:
                break
        while phrase and (phrase[-1].text == "," or phrase[-1].lower in lexicon.intro):
            phrase.pop()
        phrase = self._trim(phrase)
        if not phrase:
            return None
        return (phrase[0].start, phrase[-1].end)

    def _ends_source(self, token: Token, nxt: Token | None) -> bool:
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
                token.text.isalpha()
                and token.text.islower()
                and morphology.is_verb(token.lower, self.language)
            )
        return False

    def _apposition(self, token: Token) -> bool:
        lexicon = self.lexicon
        if token.lower in lexicon.stops or token.lower in lexicon.subordinators:
            return False
        if self.language == "de":
            # "sagte Weber, Chefin der Gewerkschaft" but "sagte der Minister, die Bahn habe".
            return token.text[:1].isupper() and token.lower not in lexicon.determiners
        if self.language in ("uk", "ru") and morphology.is_verb(token.lower, self.language):
            return False  # "заявил министр, работают ...": a clause, not an apposition
        if token.lower in lexicon_words.PREPOSITIONS[self.language]:
            return False  # "a annoncé le gouvernement, à l'occasion de ...": an adverbial
        return token.lower in lexicon.determiners or token.text[:1].isalpha()

    def _drop_intro(self, phrase: list[Token]) -> list[Token]:
        while phrase and phrase[0].lower in self.lexicon.intro:
            phrase = phrase[1:]
        return phrase

    def _trim(self, phrase: list[Token]) -> list[Token]:
        """Drop time words and their preposition ("on Tuesday", "am Montag") from a source."""
        lexicon = self.lexicon
        kept: list[Token] = []
        for token in phrase:
            if token.lower in lexicon_words.TIME_WORDS[self.language]:
                if kept and kept[-1].lower in lexicon.intro | lexicon_words.TIME_PREPOSITIONS:
                    kept.pop()
                continue
            kept.append(token)
        while kept and (kept[-1].text in BOUNDARY or kept[-1].lower in lexicon.audience):
            kept.pop()
        return kept


__all__ = ["BOUNDARY", "CLOSERS", "Cue", "SourceRules", "Token", "tokenize"]
