"""Canonical unit keys, so that figures in different languages can be compared.

The claims extractor keeps a quantity's unit as the word that follows the number in
the original language ("tonnes", "Tonnen", "тонн", "toneladas"). To tell that "10 000
tonnes" in English and "12 000 Tonnen" in German are two figures for one quantity,
each unit word is mapped to one language-neutral key ("tonne") by a table of the
common news units below:

- Ukrainian and Russian words are looked up by their dictionary form (``pymorphy3``
  lemma: "тонн" and "тонни" are both "тонна"), abbreviations ("км", "т") as written;
- other languages by the lower-cased word, then with a plural ending stripped
  ("firefighters" → "firefighter", "Tonnen" → "tonne"); irregular plurals are listed;
- ``%`` and ISO currency codes (which the extractor already produces) are their own key;
- a word not in the table keeps its lower-cased form: it still groups with itself.

The table is deliberately small and literal: a key groups words a reader would
accept as the same unit ("pompiers", "bomberos", "Feuerwehrleute"); words that only
sometimes mean it ("efectivos", personnel) are left out rather than guessed.
"""

from __future__ import annotations

from functools import lru_cache

from polynews.stories.claims_morphology import lemma

# key -> language -> space-separated word forms (lemmas for uk and ru).
_TABLE: dict[str, dict[str, str]] = {
    "tonne": {"en": "tonne ton t", "fr": "tonne t", "es": "tonelada t", "de": "tonne t",
              "it": "tonnellata tonnellate t", "uk": "тонна т", "ru": "тонна т"},
    "kilogram": {"en": "kilogram kilogramme kilo kg", "fr": "kilogramme kilo kg",
                 "es": "kilogramo kilo kg", "de": "kilogramm kilo kg",
                 "it": "chilogrammo chilogrammi chilo chili kg", "uk": "кілограм кг",
                 "ru": "килограмм кг"},
    "kilometre": {"en": "kilometre kilometer km", "fr": "kilomètre km", "es": "kilómetro km",
                  "de": "kilometer km", "it": "chilometro chilometri km", "uk": "кілометр км",
                  "ru": "километр км"},
    "metre": {"en": "metre meter m", "fr": "mètre m", "es": "metro m", "de": "meter m",
              "it": "metro metri m", "uk": "метр м", "ru": "метр м"},
    "millimetre": {"en": "millimetre millimeter mm", "fr": "millimètre mm",
                   "es": "milímetro mm", "de": "millimeter mm", "it": "millimetro millimetri mm",
                   "uk": "міліметр мм", "ru": "миллиметр мм"},
    "hectare": {"en": "hectare ha", "fr": "hectare ha", "es": "hectárea ha", "de": "hektar ha",
                "it": "ettaro ettari ha", "uk": "гектар га", "ru": "гектар га"},
    "person": {"en": "people person", "fr": "personne", "es": "persona", "de": "mensch person",
               "it": "persona persone", "uk": "людина", "ru": "человек"},
    "resident": {"en": "resident inhabitant", "fr": "habitant résident", "es": "habitante vecino",
                 "de": "einwohner bewohner anwohner", "it": "abitante abitanti residente residenti",
                 "uk": "мешканець житель", "ru": "житель"},
    "soldier": {"en": "soldier troop", "fr": "soldat militaire", "es": "soldado militar",
                "de": "soldat", "it": "soldato soldati militare militari",
                "uk": "солдат військовий військових", "ru": "солдат военный"},
    "firefighter": {"en": "firefighter fireman firemen", "fr": "pompier", "es": "bombero",
                    "de": "feuerwehrleute feuerwehrmann feuerwehrleuten",
                    "it": "pompiere pompieri vigili", "uk": "пожежник", "ru": "пожарный"},
    "rescuer": {"en": "rescuer", "fr": "secouriste sauveteur", "es": "rescatista socorrista",
                "de": "retter rettungskräfte", "it": "soccorritore soccorritori",
                "uk": "рятувальник", "ru": "спасатель"},
    "passenger": {"en": "passenger traveller traveler", "fr": "passager voyageur",
                  "es": "pasajero viajero", "de": "passagier passagiere fahrgast fahrgäste "
                  "reisende reisenden", "it": "passeggero passeggeri viaggiatore viaggiatori",
                  "uk": "пасажир", "ru": "пассажир"},
    "death": {"en": "death dead killed", "fr": "mort décès", "es": "muerto fallecido",
              "de": "tote toten todesopfer", "it": "morto morti vittima vittime",
              "uk": "загиблий загиблих", "ru": "погибший погибнуть"},
    "injured": {"en": "injured wounded", "fr": "blessé", "es": "herido",
                "de": "verletzte verletzten", "it": "ferito feriti", "uk": "поранений поранених",
                "ru": "раненый пострадавший пострадать"},
    "house": {"en": "house home", "fr": "maison logement", "es": "casa vivienda",
              "de": "haus häuser wohnung", "it": "casa case abitazione abitazioni",
              "uk": "будинок", "ru": "дом"},
    "job": {"en": "job", "fr": "emploi", "es": "empleo", "de": "arbeitsplatz arbeitsplätze job",
            "it": "posto posti", "uk": "робоче", "ru": "рабочее"},
    "train": {"en": "train", "fr": "train", "es": "tren", "de": "zug züge", "it": "treno treni",
              "uk": "потяг поїзд", "ru": "поезд"},
    "aircraft": {"en": "aircraft plane", "fr": "avion", "es": "avión", "de": "flugzeug",
                 "it": "aereo aerei", "uk": "літак", "ru": "самолёт самолет"},
    "minute": {"en": "minute min", "fr": "minute min", "es": "minuto min", "de": "minute min",
               "it": "minuto minuti min", "uk": "хвилина хв", "ru": "минута мин"},
    "hour": {"en": "hour h", "fr": "heure h", "es": "hora h", "de": "stunde std h",
             "it": "ora ore h", "uk": "година год", "ru": "час ч"},
    "day": {"en": "day", "fr": "jour", "es": "día", "de": "tag tage tagen", "it": "giorno giorni",
            "uk": "день доба", "ru": "день сутки"},
    "year": {"en": "year", "fr": "an année", "es": "año", "de": "jahr jahre jahren",
             "it": "anno anni", "uk": "рік", "ru": "год лет"},
}  # fmt: skip

LANGUAGES = ("en", "es", "de", "fr", "it", "uk", "ru")
_KEYS: dict[str, dict[str, str]] = {language: {} for language in LANGUAGES}
for _key, _forms in _TABLE.items():
    for _language, _words in _forms.items():
        for _word in _words.split():
            _KEYS[_language][_word] = _key

# Plural endings tried, longest first, when a word is not in the table as written.
_PLURALS = {
    "en": ("es", "s"),
    "fr": ("x", "s"),
    "es": ("es", "s"),
    "de": ("en", "n", "e", "s"),
    "it": (),
    "uk": (),
    "ru": (),
}


@lru_cache(maxsize=16384)
def unit_key(unit: str | None, language: str) -> str | None:
    """The canonical key of the unit word ``unit`` written in ``language``.

    >>> unit_key("Tonnen", "de"), unit_key("тонн", "ru"), unit_key("pompiers", "fr")
    ('tonne', 'tonne', 'firefighter')
    """
    if unit is None or not unit.strip():
        return None
    word = unit.strip()
    if word == "%" or word == "‰" or (word.isascii() and word.isupper() and len(word) == 3):
        return word  # the extractor's percent sign and ISO currency codes
    lowered = word.lower().rstrip(".")
    table = _KEYS.get(language)
    if table is None:
        return lowered
    if lowered in table:
        return table[lowered]
    if language in ("uk", "ru"):
        return table.get(lemma(lowered, language), lowered)
    for ending in _PLURALS[language]:
        if lowered.endswith(ending) and len(lowered) > len(ending) + 1:
            found = table.get(lowered[: -len(ending)])
            if found is not None:
                return found
    return lowered


__all__ = ["LANGUAGES", "unit_key"]
