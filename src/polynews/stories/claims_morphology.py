"""Ukrainian and Russian word forms for the claims extractor, through ``pymorphy3``.

Verbs of saying are listed as lemmas (``заявити``, ``сообщить``); every form of them
("заявила", "повідомили", "сообщил") is recognised by its dictionary lemma. The same
analyser tells a finite verb from other words, so that "зросла до 40 %" (rose to) is
not read as "up to 40 %". Dictionaries load once per language, on first use; results
are cached per word.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

from polynews.stories.claims_lexicon import LEXICONS


@cache
def _analyser(language: str) -> Any:
    import pymorphy3  # only Ukrainian and Russian need it; loads its dictionary once

    return pymorphy3.MorphAnalyzer(lang=language)


@lru_cache(maxsize=65536)
def says(word: str, language: str) -> bool:
    """Whether ``word`` is a form of one of the language's verbs of saying."""
    lexicon = LEXICONS[language]
    for parse in _analyser(language).parse(word)[:2]:
        if parse.tag.POS == "VERB" and parse.normal_form in lexicon.lemmas:
            return True
    return False


@lru_cache(maxsize=65536)
def lemma(word: str, language: str) -> str:
    """The dictionary form of ``word`` by its likeliest reading."""
    return str(_analyser(language).parse(word)[0].normal_form)


@lru_cache(maxsize=65536)
def is_verb(word: str, language: str) -> bool:
    """A finite verb or active participle ("зросла", "вырос"), not an infinitive."""
    return any(
        (parse.tag.POS == "VERB" and "infn" not in parse.tag.grammemes)
        or "actv" in parse.tag.grammemes
        for parse in _analyser(language).parse(word)[:3]
    )


def verb_checker(language: str) -> Callable[[str], bool] | None:
    """A verb test for :func:`polynews.stories.quantities.find_quantities` (uk, ru only)."""
    if language not in ("uk", "ru"):
        return None
    return lambda word: is_verb(word, language)


# First letters of the verbs of saying, to skip morphology for most words; "йде" is
# "йдеться" (the lemma "йтися" begins otherwise).
LEMMA_PREFIXES = {
    language: frozenset(word[:3] for word in LEXICONS[language].lemmas) | {"йде"}
    for language in ("uk", "ru")
}

__all__ = ["LEMMA_PREFIXES", "is_verb", "lemma", "says", "verb_checker"]
