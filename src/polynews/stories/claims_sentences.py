"""Sentences for claim extraction: the translation splitter, made aware of quotations.

The splitter of :mod:`polynews.translate.sentences` knows each language's
abbreviations; a claim needs one more thing from it: a quotation is one statement
with its speaker, so “The strike goes on. We will not stop,” said Weber. must stay
one sentence. Boundaries inside an open quotation are therefore dropped, and so are
boundaries after a few Russian abbreviations that the translation splitter (which
has no Russian list) does not know.
"""

from __future__ import annotations

import re

from polynews.translate.sentences import ABBREVIATIONS, sentence_spans


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Russian shares most abbreviations with Ukrainian; these are the ones it spells apart.
_RUSSIAN = _words("г гг ул им тыс руб долл млн млрд т.е т.д т.п др проф ген пр см напр обл кв стр")
_WORD_BEFORE = re.compile(r"(\S+)\.$")


def _quote_depth(text: str, language: str) -> int:
    """How many quotations are still open at the end of ``text``."""
    opened = text.count("«") + text.count("„")
    closed = text.count("»") + text.count("”")
    # German closes „…“ with “; the other languages open with it.
    if language == "de":
        closed += text.count("“")
    else:
        opened += text.count("“")
    return max(opened - closed, 0) + text.count('"') % 2


def claim_sentences(text: str, language: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of a paragraph, quotations kept whole."""
    base = language if language in ABBREVIATIONS else "uk" if language == "ru" else "en"
    spans = sentence_spans(text, base)
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged:
            previous_start, previous_end = merged[-1]
            before = text[previous_start:previous_end]
            word = _WORD_BEFORE.search(before)
            inside_quote = _quote_depth(before, language) > 0
            abbreviation = (
                language == "ru" and word is not None and word.group(1).lower() in _RUSSIAN
            )
            if inside_quote or abbreviation:
                merged[-1] = (previous_start, end)
                continue
        merged.append((start, end))
    return merged


__all__ = ["claim_sentences"]
