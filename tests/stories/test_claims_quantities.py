"""Quantities: one value whatever the digit grouping, scale words, units and qualifiers."""

from __future__ import annotations

import pytest

from polynews.stories.quantities import find_quantities, parse_number


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [
        ("10 000", "fr", 10000),
        ("10\u00a0000", "fr", 10000),  # no-break space
        ("10\u202f000", "fr", 10000),  # narrow no-break space
        ("10\u2009000", "uk", 10000),  # thin space
        ("10,000", "en", 10000),
        ("10.000", "de", 10000),
        ("10.000", "es", 10000),
        ("1,5", "de", 1.5),
        ("1.5", "en", 1.5),
        ("1.000.000", "it", 1000000),
        ("1,234.5", "en", 1234.5),
        ("1.234,5", "de", 1234.5),
        ("2,3", "ru", 2.3),
        ("1.5", "de", 1.5),  # not three digits after the mark: a decimal written the English way
    ],
)
def test_number_is_normalised_by_the_language_convention(
    text: str, language: str, value: float
) -> None:
    assert parse_number(text, language) == pytest.approx(value)


@pytest.mark.parametrize(
    ("sentence", "language", "expected"),
    [
        ("1.5 million euros", "en", (1_500_000, "EUR", None)),
        ("1,5 Millionen Euro", "de", (1_500_000, "EUR", None)),
        ("1,5 million d'euros", "fr", (1_500_000, "EUR", None)),
        ("1,5 млн гривень", "uk", (1_500_000, "UAH", None)),
        ("2,3 млрд рублей", "ru", (2_300_000_000, "RUB", None)),
        ("4.600 millones de euros", "es", (4_600_000_000, "EUR", None)),
        ("10 mila persone", "it", (10_000, "persone", None)),
        ("€4.6bn", "en", (4_600_000_000, "EUR", None)),
        ("$38m", "en", (38_000_000, "USD", None)),
        ("10k people", "en", (10_000, "people", None)),
        ("up to 40 % of munitions", "en", (40, "%", "up to")),
        ("40 per cent", "en", (40, "%", None)),
        ("40 Prozent", "de", (40, "%", None)),
        ("about 10,000 soldiers", "en", (10_000, "soldiers", "about")),
        ("at least 2,000 killed", "en", (2_000, "killed", "at least")),
        ("more than 140 ships", "en", (140, "ships", "more than")),
        ("nearly 1,900 trains", "en", (1_900, "trains", "nearly")),
        ("jusqu'à 12 000 tonnes", "fr", (12_000, "tonnes", "up to")),
        ("environ 10 000 habitants", "fr", (10_000, "habitants", "about")),
        ("au moins 5 000 hectares", "fr", (5_000, "hectares", "at least")),
        ("bis zu 12.000 Tonnen", "de", (12_000, "tonnen", "up to")),
        ("etwa 2.000 Soldaten", "de", (2_000, "soldaten", "about")),
        ("mindestens 5000 Hektar", "de", (5_000, "hektar", "at least")),
        ("hasta 12.000 toneladas", "es", (12_000, "toneladas", "up to")),
        ("unos 2.600 vecinos", "es", (2_600, "vecinos", "about")),
        ("al menos 1,5 millones de euros", "es", (1_500_000, "EUR", "at least")),
        ("fino a 300 milioni di euro", "it", (300_000_000, "EUR", "up to")),
        ("circa 10.000 persone", "it", (10_000, "persone", "about")),
        ("almeno 5.000 ettari", "it", (5_000, "ettari", "at least")),
        ("до 12 000 тонн", "uk", (12_000, "тонн", "up to")),
        ("близько 10 000 військових", "uk", (10_000, "військових", "about")),
        ("понад 2 600 людей", "uk", (2_600, "людей", "more than")),
        ("около 140 судов", "ru", (140, "судов", "about")),
        ("более 2 600 человек", "ru", (2_600, "человек", "more than")),
        ("не менее 5 000 гектаров", "ru", (5_000, "гектаров", "at least")),
        ("a 24-hour strike", "en", (24, "hour", None)),
        ("10km", "en", (10, "km", None)),
        ("около 2,3 млн. тонн", "ru", (2_300_000, "тонн", "about")),
        ("über 5 Mio. Euro", "de", (5_000_000, "EUR", "more than")),
    ],
)
def test_quantity_value_unit_and_qualifier(
    sentence: str, language: str, expected: tuple[float, str | None, str | None]
) -> None:
    found = find_quantities(sentence, language)
    assert len(found) == 1, found
    quantity = found[0]
    assert (quantity.value, quantity.unit, quantity.qualifier) == expected


@pytest.mark.parametrize(
    ("sentence", "language"),
    [
        ("The painting was stolen in 1998.", "en"),
        ("The strike starts on 3 December.", "en"),
        ("The strike starts on December 3.", "en"),
        ("Der Streik beginnt am 3. Dezember.", "de"),
        ("La grève commence le 3 décembre à 14:30.", "fr"),
        ("Il G7 si riunisce a Roma.", "it"),
        ("Термінал «Дунай-3» відкрили в Ізмаїлі.", "uk"),
        ("Это 3-й раунд переговоров в 2025 году.", "ru"),
        ("She finished 3rd at 6 p.m.", "en"),
    ],
)
def test_years_dates_times_ordinals_and_codes_are_not_quantities(
    sentence: str, language: str
) -> None:
    assert find_quantities(sentence, language) == []


def test_a_verb_before_do_means_rose_to_not_up_to() -> None:
    from polynews.stories.claims_morphology import verb_checker

    is_verb = verb_checker("ru")
    rose = find_quantities("Экспорт вырос до 2,3 млн тонн.", "ru", is_verb)
    capacity = find_quantities("Терминал может загружать до 12 000 тонн.", "ru", is_verb)
    assert [(q.value, q.qualifier) for q in rose] == [(2_300_000, None)]
    assert [(q.value, q.qualifier) for q in capacity] == [(12_000, "up to")]
    # "не более" after a verb is still a ceiling: only a bare "до" can mean "rose to".
    ceiling = find_quantities("На месте работали не более 450 пожарных.", "ru", is_verb)
    assert [(q.value, q.qualifier) for q in ceiling] == [(450, "up to")]


def test_quantity_dict_has_the_cli_keys() -> None:
    (quantity,) = find_quantities("about 10,000 soldiers", "en")
    assert quantity.as_dict() == {
        "text": "about 10,000 soldiers",
        "value": 10000,
        "unit": "soldiers",
        "qualifier": "about",
    }
