"""Translation-free terms of an article: named entities and numbers, as comparable keys.

A story told in Ukrainian, Russian, German and English shares few words but many
names and figures. This module reduces both to keys that meet across languages
without a translator:

- a **name key** for every capitalised word (and every pair of adjacent ones): the
  word is transliterated to Latin (Cyrillic), stripped of accents and reduced to a
  consonant skeleton, so "Зеленський", "Зеленский", "Zelensky" and "Selenskyj" all
  become ``slnsk`` and "Києві", "Kyiv" and "Kiew" become ``kf``;
- a **number key** for every figure, its value normalised, so "10,000", "10 000" and
  "10.000" all become ``#10000`` while "4,6" and "4.6" become ``#4.6``.

:class:`TermStats` holds document frequencies (shipped from a reference corpus and
updatable as articles arrive) and turns keys into L2-normalised TF-IDF vectors.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Cyrillic to Latin, close to the English-language press transliteration. Ukrainian
# differs from Russian in a few letters; the article's language picks the table.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "ye",
    "ё": "yo", "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "yi", "й": "y", "к": "k",
    "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "",
    "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "'": "", "’": "", "ʼ": "",
}  # fmt: skip
_UKRAINIAN = {**_CYRILLIC, "г": "h", "и": "y"}
# Letters NFKD does not decompose.
_LATIN_EXTRA = {"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i"}

# Consonant classes of the skeleton: voiced and voiceless pairs fall together, as do
# the spellings of one sound across languages (c/k/q, s/z, f/v/w). Vowels, y, j, h and
# w-glides are dropped after the first letter, which absorbs most inflection endings.
_CLASS = {
    "b": "p", "p": "p", "d": "t", "t": "t", "g": "k", "k": "k", "c": "k", "q": "k",
    "x": "k", "s": "s", "z": "s", "f": "f", "v": "f", "w": "f", "l": "l", "m": "m",
    "n": "n", "r": "r",
}  # fmt: skip
_VOWELS = frozenset("aeiouyjh")
SKELETON_LEN = 5  # classes kept: enough to tell names apart, few enough to drop suffixes

_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’ʼ-](?=[^\W\d_]))*")
_NUMBER = re.compile(
    r"(?<![\w.,])\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?(?![\d])"  # 10 000, 1 200,5
    r"|(?<![\w.,])\d+(?:[.,]\d+)*"  # 10,000  10.000  4,6  2025  1.234.567
)
_TOKEN = re.compile(_NUMBER.pattern + r"|" + _WORD.pattern)
MAX_TERM_CHARS = 20_000  # terms are read from at most this much of an article


def transliterate(word: str, language: str = "") -> str:
    """``word`` in lower-case Latin letters: Cyrillic transliterated, accents removed."""
    table = _UKRAINIAN if language == "uk" else _CYRILLIC
    out: list[str] = []
    for char in word.lower():
        if char in table:
            out.append(table[char])
        elif char in _LATIN_EXTRA:
            out.append(_LATIN_EXTRA[char])
        else:
            base = unicodedata.normalize("NFKD", char)
            out.append("".join(c for c in base if not unicodedata.combining(c)))
    return "".join(out)


# Russian and Ukrainian case endings that end in a consonant, which the skeleton would
# otherwise keep ("Туском" is "Tusk" in the instrumental). Only these, and only on a
# stem of at least four letters: "-ов"/"-ів" would eat "Киев" and "Харків".
_SLAVIC_ENDINGS = ("ами", "ями", "ом", "ем", "ём", "ой", "ою", "ею", "єю", "ым", "им", "ах", "ях")
_SLAVIC_MIN_STEM = 4


def name_key(word: str, language: str = "") -> str:
    """The consonant skeleton of a name: equal for its spellings across languages."""
    lower = word.lower()
    for ending in _SLAVIC_ENDINGS:
        if lower.endswith(ending) and len(lower) - len(ending) >= _SLAVIC_MIN_STEM:
            word = word[: -len(ending)]
            break
    latin = transliterate(word, language)
    letters = [c for c in latin if c.isascii() and c.isalpha()]
    if not letters:
        return ""
    # Digraphs first, so that "sch", "sh", "ch" and "kh" each count as one sound.
    text = "".join(letters)
    for digraph, single in (("sch", "s"), ("shch", "s"), ("sh", "s"), ("zh", "s"),
                            ("ch", "k"), ("kh", "k"), ("ph", "f"), ("th", "t"), ("ts", "s"),
                            ("tz", "s"), ("ck", "k")):  # fmt: skip
        text = text.replace(digraph, single)
    skeleton = [text[0] if text[0] in _VOWELS else _CLASS.get(text[0], text[0])]
    if skeleton[0] in _VOWELS:
        skeleton[0] = "a"  # any initial vowel: "Oulan"/"Ulan", "Ukraine"/"Україна"
    for char in text[1:]:
        cls = _CLASS.get(char)
        if cls is None or cls == skeleton[-1]:
            continue
        skeleton.append(cls)
    return "".join(skeleton[:SKELETON_LEN])


def number_value(text: str) -> float | None:
    """The value of a written number: "10,000", "10 000" and "10.000" are 10000; "4,6" is 4.6.

    One separator followed by exactly three digits groups thousands (as in "1.200"
    or "1,200"); otherwise it is the decimal mark. With both "," and "." present, the
    last one is the decimal mark. Spaces (including narrow and non-breaking) only
    group thousands.
    """
    raw = re.sub(r"[ \u00a0\u202f]", "", text)
    if not raw or not raw[0].isdigit():
        return None
    seps = [c for c in raw if c in ".,"]
    if not seps:
        return float(raw)
    if "," in seps and "." in seps:
        decimal = seps[-1]
        thousands = "," if decimal == "." else "."
        return _to_float(raw.replace(thousands, "").replace(decimal, "."))
    sep = seps[0]
    groups = raw.split(sep)
    grouped = all(len(g) == 3 for g in groups[1:]) and 1 <= len(groups[0]) <= 3
    if len(groups) > 2:
        return _to_float("".join(groups)) if grouped else None
    if grouped and groups[0] != "0":
        return float("".join(groups))
    return _to_float(raw.replace(sep, "."))


def _to_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def number_key(value: float) -> str:
    """The term of a number value: ``#10000``, ``#4.6``."""
    if value == int(value) and abs(value) < 1e15:
        return f"#{int(value)}"
    return f"#{value:.6g}"


def article_terms(text: str, language: str = "") -> Counter[str]:
    """Name and number keys of ``text`` with their counts.

    Capitalised words (and runs of two of them, as ``"a+b"``) give name keys;
    numbers give number keys. Words in lower case are ignored: they are what a
    translation changes; names and figures are what it keeps.
    """
    terms: Counter[str] = Counter()
    previous = ""
    for match in _TOKEN.finditer(text[:MAX_TERM_CHARS]):
        token = match.group()
        if token[0].isdigit():
            previous = ""
            value = number_value(token)
            if value is not None:
                terms[number_key(value)] += 1
            continue
        if not token[0].isupper() or len(token) < 2:
            previous = ""
            continue
        key = name_key(token, language)
        if len(key) < 2:  # one consonant class ("Хі", "Oui") says nothing
            previous = ""
            continue
        terms[key] += 1
        if previous:
            terms[f"{previous}+{key}"] += 1
        previous = key
    return terms


@dataclass
class TermStats:
    """Document frequencies of terms, for IDF weights; start from a reference corpus, then add.

    ``documents`` is the number of documents counted and ``df`` maps a term to the
    number of documents containing it. A term never seen weighs as one seen once.
    """

    documents: int = 0
    df: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> TermStats:
        """Rebuild from :meth:`to_data` output."""
        documents = data.get("documents")
        df = data.get("df")
        if not isinstance(documents, int) or not isinstance(df, dict):
            raise ValueError("term statistics need an integer 'documents' and a 'df' mapping")
        return cls(documents=documents, df={str(k): int(v) for k, v in df.items()})

    def to_data(self, *, min_df: int = 2) -> dict[str, object]:
        """A JSON-ready form, keeping only terms seen in at least ``min_df`` documents."""
        kept = {k: v for k, v in sorted(self.df.items()) if v >= min_df}
        return {"documents": self.documents, "df": kept}

    def add(self, terms: Iterable[str]) -> None:
        """Count one more document containing ``terms``."""
        self.documents += 1
        for term in set(terms):
            self.df[term] = self.df.get(term, 0) + 1

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency of ``term``."""
        return math.log((1 + self.documents) / (1 + self.df.get(term, 1))) + 1.0

    def vector(self, terms: Mapping[str, int]) -> dict[str, float]:
        """Sublinear TF times IDF, L2-normalised (empty for an article with no terms)."""
        weights = {t: (1.0 + math.log(n)) * self.idf(t) for t, n in terms.items() if n > 0}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        if norm == 0:
            return {}
        return {t: w / norm for t, w in weights.items()}


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Dot product of two normalised sparse vectors."""
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())
