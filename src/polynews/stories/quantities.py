"""Quantities in news sentences: number, scale, unit and qualifier, normalised per language.

A quantity is a number written with digits ("10 000", "10,000", "1,5", "4.6bn"),
optionally followed by a scale word ("million", "Millionen", "млн", "mila") and a
unit ("%", "euros", "soldiers", "тонн"), optionally preceded by a qualifier ("up to",
"environ", "не менее"). The value is normalised with the language's decimal
convention: a comma is the decimal mark everywhere except in English, where it
groups thousands; a full stop is the decimal mark in English only; a space (also a
no-break or thin space) groups thousands everywhere. A separator that repeats
("1.000.000") or is followed by another kind ("1.234,5") groups thousands whatever
the language.

Qualifiers are reported in one canonical English form so that figures from outlets in
different languages can be compared: ``about``, ``nearly``, ``up to``, ``at least``,
``more than``, ``less than``.

Not quantities: years ("in 2027"), dates ("3 November", "3. Oktober"), clock times
("14:30"), ordinals ("3rd", "2e", "3-й") and digits glued to letters ("G7", "A320").
Units are the surface word after the number, lower-cased, except percentages (``%``)
and currencies (ISO codes: ``EUR``, ``USD``, ``GBP``, ``UAH``, ``RUB``, ``CHF``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_GROUP_CHARS = " \u00a0\u2009\u202f"
# Digits with optional grouping and decimals; the parser decides what each mark means.
_NUMBER = (
    r"(?<![\w.,:])(?:\d{1,3}(?:[ \u00a0\u2009\u202f.,’']\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)"
    r"(?!\d|[.,]\d)"
)
_GLUED = frozenset({"km", "kg", "m", "t", "ha", "mm", "cm", "mw", "gw", "kw", "gb", "h"})
_CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "₴": "UAH", "₽": "RUB"}


@dataclass(frozen=True)
class Quantity:
    """One figure of a sentence; ``start``/``end`` are offsets of ``text`` in it."""

    text: str
    value: float
    unit: str | None
    qualifier: str | None
    start: int
    end: int

    def as_dict(self) -> dict[str, object]:
        """The JSON form: ``{"text", "value", "unit", "qualifier"}``."""
        value: float | int = int(self.value) if self.value.is_integer() else self.value
        return {"text": self.text, "value": value, "unit": self.unit, "qualifier": self.qualifier}


@dataclass(frozen=True)
class _Rules:
    scales: dict[str, float]
    currencies: dict[str, str]
    percent: tuple[str, ...]
    qualifiers: dict[str, str]
    # Words between a number (or its scale) and the unit: "millions de tonnes".
    links: frozenset[str]
    # Words after a number that are not units (prepositions, conjunctions, months...).
    not_units: frozenset[str]
    months: frozenset[str]
    year_words: frozenset[str]


def _w(text: str) -> frozenset[str]:
    return frozenset(text.split())


_EN_MONTHS = _w(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_MONTHS = {
    "en": _EN_MONTHS,
    "fr": _w(
        "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
    ),
    "de": _w("januar februar märz april mai juni juli august september oktober november dezember"),
    "es": _w(
        "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
    ),
    "it": _w(
        "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre "
        "dicembre"
    ),
    "uk": _w(
        "січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня"
    ),
    "ru": _w("января февраля марта апреля мая июня июля августа сентября октября ноября декабря"),
}

_COMMON_SCALES = {"k": 1e3, "m": 1e6, "mn": 1e6, "bn": 1e9, "mio": 1e6, "mrd": 1e9, "mld": 1e9}
_SCALES = {
    "en": {"thousand": 1e3, "million": 1e6, "millions": 1e6, "billion": 1e9, "billions": 1e9},
    "fr": {"mille": 1e3, "million": 1e6, "millions": 1e6, "milliard": 1e9, "milliards": 1e9},
    "de": {
        "tausend": 1e3, "million": 1e6, "millionen": 1e6, "milliarde": 1e9, "milliarden": 1e9,
        "tsd": 1e3,
    },
    "es": {"mil": 1e3, "millón": 1e6, "millones": 1e6, "mil millones": 1e9, "millardo": 1e9},
    "it": {"mila": 1e3, "mille": 1e3, "milione": 1e6, "milioni": 1e6, "miliardo": 1e9,
           "miliardi": 1e9, "mln": 1e6},
    "uk": {"тис": 1e3, "тисяч": 1e3, "тисячі": 1e3, "тисяча": 1e3, "млн": 1e6, "мільйон": 1e6,
           "мільйона": 1e6, "мільйони": 1e6, "мільйонів": 1e6, "млрд": 1e9, "мільярд": 1e9,
           "мільярда": 1e9, "мільярди": 1e9, "мільярдів": 1e9},
    "ru": {"тыс": 1e3, "тысяч": 1e3, "тысячи": 1e3, "тысяча": 1e3, "млн": 1e6, "миллион": 1e6,
           "миллиона": 1e6, "миллионов": 1e6, "млрд": 1e9, "миллиард": 1e9, "миллиарда": 1e9,
           "миллиардов": 1e9},
}  # fmt: skip

_COMMON_CURRENCIES = {"eur": "EUR", "euro": "EUR", "usd": "USD", "gbp": "GBP", "chf": "CHF"}
_CURRENCIES = {
    "en": {"euros": "EUR", "dollars": "USD", "dollar": "USD", "pounds": "GBP", "hryvnias": "UAH",
           "hryvnia": "UAH", "roubles": "RUB", "rubles": "RUB"},
    "fr": {"euros": "EUR", "dollars": "USD", "dollar": "USD", "livres": "GBP", "hryvnias": "UAH",
           "roubles": "RUB"},
    "de": {"dollar": "USD", "pfund": "GBP", "hrywnja": "UAH", "rubel": "RUB", "franken": "CHF"},
    "es": {"euros": "EUR", "dólares": "USD", "dólar": "USD", "libras": "GBP", "grivnas": "UAH",
           "rublos": "RUB"},
    "it": {"dollari": "USD", "dollaro": "USD", "sterline": "GBP", "grivne": "UAH", "rubli": "RUB"},
    "uk": {"євро": "EUR", "доларів": "USD", "долари": "USD", "долара": "USD", "дол": "USD",
           "гривень": "UAH", "гривні": "UAH", "гривня": "UAH", "грн": "UAH", "рублів": "RUB",
           "фунтів": "GBP"},
    "ru": {"евро": "EUR", "долларов": "USD", "доллара": "USD", "доллар": "USD", "долл": "USD",
           "гривен": "UAH", "гривны": "UAH", "грн": "UAH", "рублей": "RUB", "рубля": "RUB",
           "руб": "RUB", "фунтов": "GBP"},
}  # fmt: skip

_PERCENT = {
    "en": ("per cent", "percent"),
    "fr": ("pour cent", "pourcent"),
    "de": ("prozent",),
    "es": ("por ciento",),
    "it": ("per cento",),
    "uk": ("відсотків", "відсотка", "відсотки", "відсоток", "процентів"),
    "ru": ("процентов", "процента", "процент"),
}

# Longest first when matched; values are the canonical qualifiers.
_QUALIFIERS = {
    "en": {"up to": "up to", "as many as": "up to", "at most": "up to", "about": "about",
           "around": "about", "approximately": "about", "roughly": "about", "some": "about",
           "an estimated": "about", "nearly": "nearly", "almost": "nearly",
           "close to": "nearly", "just under": "nearly", "at least": "at least",
           "no fewer than": "at least", "no less than": "at least", "more than": "more than",
           "over": "more than", "above": "more than", "upwards of": "more than",
           "less than": "less than", "fewer than": "less than", "under": "less than",
           "below": "less than"},
    "fr": {"jusqu'à": "up to", "jusqu’à": "up to", "au maximum": "up to", "au plus": "up to",
           "environ": "about", "quelque": "about", "quelques": "about", "autour de": "about",
           "approximativement": "about", "près de": "nearly", "presque": "nearly",
           "pas moins de": "at least", "au moins": "at least", "plus de": "more than",
           "moins de": "less than"},
    "de": {"bis zu": "up to", "höchstens": "up to", "maximal": "up to", "etwa": "about",
           "rund": "about", "ungefähr": "about", "circa": "about", "ca.": "about",
           "zirka": "about", "gut": "about", "knapp": "nearly", "fast": "nearly",
           "beinahe": "nearly", "mindestens": "at least", "wenigstens": "at least",
           "mehr als": "more than", "über": "more than", "weniger als": "less than",
           "unter": "less than"},
    "es": {"hasta": "up to", "como máximo": "up to", "unos": "about", "unas": "about",
           "alrededor de": "about", "aproximadamente": "about", "cerca de": "about",
           "en torno a": "about", "casi": "nearly", "al menos": "at least",
           "por lo menos": "at least", "como mínimo": "at least", "más de": "more than",
           "menos de": "less than"},
    "it": {"fino a": "up to", "fino al": "up to", "fino all'": "up to",
           "intorno al": "about", "al massimo": "up to", "circa": "about", "intorno a": "about",
           "attorno a": "about", "all'incirca": "about", "quasi": "nearly",
           "almeno": "at least", "non meno di": "at least", "più di": "more than",
           "oltre": "more than", "meno di": "less than"},
    "uk": {"до": "up to", "щонайбільше": "up to", "близько": "about", "приблизно": "about",
           "орієнтовно": "about", "майже": "nearly", "щонайменше": "at least",
           "принаймні": "at least", "не менше ніж": "at least", "не менш ніж": "at least",
           "не менше": "at least", "понад": "more than", "більше ніж": "more than",
           "більш ніж": "more than", "більше": "more than", "менше ніж": "less than",
           "менш ніж": "less than", "менше": "less than"},
    "ru": {"до": "up to", "не более": "up to", "около": "about", "примерно": "about",
           "порядка": "about", "приблизительно": "about", "почти": "nearly",
           "не менее": "at least", "как минимум": "at least", "по меньшей мере": "at least",
           "минимум": "at least", "более": "more than", "больше": "more than",
           "свыше": "more than", "более чем": "more than", "менее": "less than",
           "меньше": "less than"},
}  # fmt: skip

_LINKS = {
    "en": _w("of"),
    "fr": _w("de d' d’"),
    "de": frozenset[str](),
    "es": _w("de"),
    "it": _w("di"),
    "uk": frozenset[str](),
    "ru": frozenset[str](),
}
_NOT_UNITS = {
    "en": _w(
        "and or to of in on at by for from with the a an than per as is are was were "
        "that which who but while after before until"
    ),
    "fr": _w("et ou à au aux de des du dans en sur par pour avec le la les un une que qui mais"),
    "de": _w(
        "und oder bis zu von vom im in am an auf für mit der die das den dem des ein eine "
        "als pro je aus nach"
    ),
    "es": _w("y o a al de del en con por para el la los las un una que como sobre"),
    "it": _w("e o a al ai alla di del dei della in nel con per il lo la i gli le un una che su"),
    "uk": _w("і й та або в у на з із до від по за для що як"),
    "ru": _w("и или в во на с со до от по за для что как"),
}
_YEAR_WORDS = {
    "en": frozenset[str](),
    "fr": frozenset[str](),
    "de": frozenset[str](),
    "es": frozenset[str](),
    "it": frozenset[str](),
    "uk": _w("року рік році роках роки рр р"),
    "ru": _w("года год году годах годы гг г"),
}


def _rules(language: str) -> _Rules:
    return _Rules(
        scales={**_COMMON_SCALES, **_SCALES[language]},
        currencies={**_COMMON_CURRENCIES, **_CURRENCIES[language]},
        percent=_PERCENT[language],
        qualifiers=_QUALIFIERS[language],
        links=_LINKS[language],
        not_units=_NOT_UNITS[language],
        months=_MONTHS[language],
        year_words=_YEAR_WORDS[language],
    )


# Preposition-and-article contractions, by the preposition they hold.
_CONTRACTIONS: dict[str, dict[str, str]] = {
    "es": {"del": "de", "al": "a"},
    "it": {"del": "di", "dello": "di", "della": "di", "dei": "di", "degli": "di", "al": "a",
           "allo": "a", "alla": "a", "ai": "a", "agli": "a"},
    "fr": {"du": "de", "des": "de", "au": "à", "aux": "à"},
    "de": {}, "en": {}, "uk": {}, "ru": {},
}  # fmt: skip
LANGUAGES = ("en", "es", "de", "fr", "it", "uk", "ru")
_RULES = {language: _rules(language) for language in LANGUAGES}
_NUMBER_RE = re.compile(_NUMBER)
_WORD_RE = re.compile(r"\s*([^\W\d_]+(?:['’][^\W\d_]+)?\.?|%|‰)", re.UNICODE)


def parse_number(text: str, language: str) -> float:
    """The value of a digit string under the language's decimal convention.

    >>> parse_number("10.000", "de"), parse_number("10,000", "en"), parse_number("1,5", "fr")
    (10000.0, 10000.0, 1.5)
    """
    digits = text
    for char in _GROUP_CHARS + "’'":
        digits = digits.replace(char, "")
    marks = [c for c in digits if c in ".,"]
    if not marks:
        return float(digits)
    if len(set(marks)) == 2:
        decimal = marks[-1]  # "1.234,5" / "1,234.5": the last mark is the decimal one
    elif len(marks) > 1:
        return float(digits.replace(marks[0], ""))  # "1.000.000": a repeated mark groups
    else:
        decimal = "." if language == "en" else ","
        mark = marks[0]
        if mark != decimal:
            # The other mark groups thousands ("10.000" in German, "10,000" in English)
            # unless it cannot: "1.5" in a German text is a decimal written the English way.
            if len(digits) - digits.index(mark) - 1 == 3:
                return float(digits.replace(mark, ""))
            decimal = mark
    whole, _, fraction = digits.rpartition(decimal)
    whole = whole.replace(".", "").replace(",", "")
    return float(f"{whole}.{fraction}")


def find_quantities(
    sentence: str, language: str, is_verb: Callable[[str], bool] | None = None
) -> list[Quantity]:
    """Every quantity of ``sentence``, in order.

    ``is_verb`` (for Ukrainian and Russian) tells a verb from other words, so that
    "зросла до 40 %" (rose to) is not read as "up to 40 %".
    """
    rules = _RULES[language]
    found: list[Quantity] = []
    for match in _NUMBER_RE.finditer(sentence):
        quantity = _quantity(sentence, match, rules, language, is_verb)
        if quantity is not None:
            found.append(quantity)
    return found


def _quantity(
    sentence: str,
    match: re.Match[str],
    rules: _Rules,
    language: str,
    is_verb: Callable[[str], bool] | None,
) -> Quantity | None:
    start, end = match.span()
    raw = match.group()
    before = sentence[:start]
    after = sentence[end:]
    if _is_excluded(raw, before, after, rules, language):
        return None
    value = parse_number(raw, language)
    unit: str | None = None
    # A currency symbol before the number: "€4.6bn", "$38 million".
    symbol = re.search(r"([€$£₴₽])\s?$", before)
    if symbol:
        unit = _CURRENCY_SYMBOLS[symbol.group(1)]
        start = symbol.start()
        before = sentence[:start]
    position = end
    # Suffix scale glued to the number or after a space: "4.6bn", "10k", "1,5 млн".
    scale = re.match(r"\s?([^\W\d_]+(?: [^\W\d_]+)?)\.?", sentence[position:])
    if scale:
        words = scale.group(1).lower()
        first = words.split()[0]
        if words in rules.scales and " " in words:
            value *= rules.scales[words]
            position += scale.end()
        elif first in rules.scales and (
            first not in {"m", "k"} or not scale.group().startswith(" ")
        ):
            # "m" and "k" count only glued to the number ("$38m", "10k"), not "10 m".
            value *= rules.scales[first]
            position += scale.start(1) + len(first)
            following = re.match(r"\.\s+([^\W\d_]+)", sentence[position:])
            if following and (
                following.group(1)[0].islower()
                or following.group(1).lower() in rules.currencies
                or language == "de"  # nouns are capitalised: "5 Mio. Euro", "2 Mrd. Tonnen"
            ):
                position += 1  # "2,3 млн. тонн", not the full stop ending a sentence
    unit_end = position
    if unit is None:
        unit, unit_end = _unit(sentence, position, rules, language)
    qualifier, qualifier_start = _qualifier(before, rules, language, is_verb)
    if qualifier_start is not None:
        start = qualifier_start
    return Quantity(
        text=sentence[start:unit_end].strip(),
        value=round(value, 6),
        unit=unit,
        qualifier=qualifier,
        start=start,
        end=unit_end,
    )


def _is_excluded(raw: str, before: str, after: str, rules: _Rules, language: str) -> bool:
    glued = re.match(r"[^\W\d_]+", after)
    if glued and glued.group().lower() not in rules.scales and glued.group().lower() not in _GLUED:
        return True  # "3rd", "2e", "A320neo"
    next_word = re.match(r"\.?[\s\u00a0]*([^\W\d_]+)", after)
    word_after = next_word.group(1).lower() if next_word else ""
    if re.match(r"[:h]\d\d(?!\d)", after) or re.match(
        r"\s*(?:a\.m\.|p\.m\.|am\b|pm\b|uhr\b)", after
    ):
        return True  # clock time
    if re.match(r"[°ºª]|-[^\W\d_]{1,3}(?![\w-])", after):
        return True  # ordinal: "3-й", "2-го", "1º"
    if re.search(r"[^\W\d_]-?$", before) or (after[:1] == "-" and re.match(r"-\d", after)):
        return True  # "G7", "Дунай-3", "2-3" handled as separate numbers
    if language == "de" and after.startswith(".") and word_after in rules.months:
        return True  # "am 3. Oktober"
    if word_after in rules.months:
        return True  # "3 November", "5 листопада"
    previous = re.search(r"([^\W\d_]+)\.?\s*$", before)
    if previous and previous.group(1).lower() in rules.months:
        return True  # "November 3", "in October 2025"
    if re.fullmatch(r"(1[89]|20)\d\d", raw):
        # A bare four-digit number is a year unless a unit follows: "in 2027" / "2000 soldiers".
        return not word_after or word_after in rules.not_units or word_after in rules.year_words
    return False


def _unit(sentence: str, position: int, rules: _Rules, language: str) -> tuple[str | None, int]:
    rest = sentence[position:]
    if re.match(r"[\s\u00a0\u202f\u2009]?%", rest):
        return "%", position + rest.index("%") + 1
    lowered = rest.lower().lstrip()
    offset = len(rest) - len(lowered)
    for phrase in rules.percent:
        if lowered.startswith(phrase) and not lowered[len(phrase) : len(phrase) + 1].isalpha():
            return "%", position + offset + len(phrase)
    if rest.startswith("-"):
        hyphen = re.match(r"-([^\W\d_]+)", rest)  # "24-hour strike"
        if hyphen:
            return hyphen.group(1).lower(), position + hyphen.end()
    symbol = re.match(r"\s?([€$£₴₽])", rest)
    if symbol:
        return _CURRENCY_SYMBOLS[symbol.group(1)], position + symbol.end()
    cursor = position
    for _ in range(2):
        word = _WORD_RE.match(sentence, cursor)
        if word is None:
            return None, position
        token = word.group(1)
        lowered_token = token.lower().rstrip(".")
        if lowered_token in rules.links:
            cursor = word.end()
            continue
        elided = re.match(r"[dl]['’](.+)", lowered_token)
        if elided:  # "d'euros", "d’habitants"
            token = lowered_token = elided.group(1)
        if token in ("%", "‰"):
            return token, word.end()
        if lowered_token in rules.currencies:
            return rules.currencies[lowered_token], word.end()
        if lowered_token in rules.not_units or lowered_token in rules.year_words:
            return None, position
        if language != "de" and token[:1].isupper() and lowered_token not in rules.currencies:
            return None, position  # a name after a number: "a 2-1 win over Lyon"
        if token.endswith(".") and lowered_token not in {"km", "kg"}:
            return lowered_token, word.end() - 1
        return lowered_token, word.end()
    return None, position


def _match_qualifier(tail: str, rules: _Rules) -> tuple[str, int] | None:
    """The canonical qualifier that ends ``tail`` and where it starts (longest wins)."""
    lowered = tail.lower()
    best: tuple[str, int] | None = None
    for phrase, canonical in rules.qualifiers.items():
        if not lowered.endswith(phrase):
            continue
        cut = len(tail) - len(phrase)
        if cut > 0 and lowered[cut - 1].isalnum():
            continue
        if best is None or cut < best[1]:
            best = (canonical, cut)
    return best


def _qualifier(
    before: str, rules: _Rules, language: str, is_verb: Callable[[str], bool] | None
) -> tuple[str | None, int | None]:
    tail = before.rstrip()
    best = _match_qualifier(tail, rules)
    contracted = re.search(r"(?:^|\s)(\w+)$", tail)
    if best is None and contracted and contracted.group(1).lower() in _CONTRACTIONS[language]:
        # "más del 40 %" is "más de" + "el": read the preposition the contraction holds.
        preposition = _CONTRACTIONS[language][contracted.group(1).lower()]
        best = _match_qualifier(tail[: contracted.start(1)] + preposition, rules)
    # An article between the qualifier and the number: "hasta el 40 %", "about the".
    article = re.search(r"(?:^|\s)(?:el|la|los|las|il|lo|l['’]|the|les)$", tail, re.IGNORECASE)
    if best is None and article:
        tail = tail[: article.start()].rstrip()
        best = _match_qualifier(tail, rules)
    if best is None:
        return None, None
    canonical, cut = best
    # Only the bare preposition "до" can follow a verb of change; "не более" is a ceiling.
    bare_do = tail[cut:].strip().lower() == "до"
    if language in ("uk", "ru") and canonical == "up to" and bare_do and is_verb is not None:
        previous = re.search(r"([^\W\d_]+)\s*$", tail[:cut])
        # "зросла до 40 %", "снизились примерно до 1 %": a verb of change, not a ceiling.
        if previous and is_verb(previous.group(1).lower()):
            return None, None
        if previous and previous.group(1).lower() in rules.qualifiers:
            # "примерно до 1 %": the word before "до" qualifies the figure.
            return rules.qualifiers[previous.group(1).lower()], previous.start()
    return canonical, cut


__all__ = ["LANGUAGES", "Quantity", "find_quantities", "parse_number"]
