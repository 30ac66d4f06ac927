"""Canonical unit keys: one key per unit whatever the language and word form."""

from __future__ import annotations

import pytest

from polynews.stories.units import unit_key

SAME_UNIT = {
    "tonne": [
        ("tonnes", "en"), ("tons", "en"), ("tonnes", "fr"), ("Tonnen", "de"),
        ("toneladas", "es"), ("tonnellate", "it"), ("тонн", "uk"), ("тонни", "uk"),
        ("тонн", "ru"), ("тоннах", "ru"), ("т", "ru"),
    ],
    "firefighter": [
        ("firefighters", "en"), ("pompiers", "fr"), ("Feuerwehrleute", "de"),
        ("bomberos", "es"), ("pompieri", "it"), ("пожежників", "uk"), ("пожарных", "ru"),
    ],
    "passenger": [
        ("passengers", "en"), ("voyageurs", "fr"), ("passagers", "fr"), ("Fahrgäste", "de"),
        ("Passagiere", "de"), ("pasajeros", "es"), ("passeggeri", "it"), ("пасажирів", "uk"),
        ("пассажиров", "ru"),
    ],
    "soldier": [
        ("soldiers", "en"), ("troops", "en"), ("soldats", "fr"), ("Soldaten", "de"),
        ("soldados", "es"), ("soldati", "it"), ("військових", "uk"), ("военных", "ru"),
    ],
    "person": [
        ("people", "en"), ("personnes", "fr"), ("Menschen", "de"), ("personas", "es"),
        ("persone", "it"), ("людей", "uk"), ("человек", "ru"),
    ],
    "death": [
        ("deaths", "en"), ("dead", "en"), ("morts", "fr"), ("Tote", "de"), ("muertos", "es"),
        ("morti", "it"), ("загиблих", "uk"), ("погибших", "ru"),
    ],
    "injured": [
        ("injured", "en"), ("blessés", "fr"), ("Verletzte", "de"), ("heridos", "es"),
        ("feriti", "it"), ("поранених", "uk"), ("раненых", "ru"),
    ],
    "kilometre": [
        ("km", "en"), ("kilometres", "en"), ("kilomètres", "fr"), ("Kilometer", "de"),
        ("kilómetros", "es"), ("chilometri", "it"), ("кілометрів", "uk"), ("км", "ru"),
    ],
    "kilogram": [("kg", "en"), ("kilos", "es"), ("Kilogramm", "de"), ("кілограмів", "uk")],
    "millimetre": [("mm", "en"), ("millimètres", "fr"), ("millimetri", "it"), ("мм", "ru")],
    "metre": [("metres", "en"), ("mètres", "fr"), ("Metern", "de"), ("метров", "ru")],
    "hectare": [("hectares", "en"), ("hectáreas", "es"), ("ettari", "it"), ("гектарів", "uk")],
    "house": [("homes", "en"), ("houses", "en"), ("maisons", "fr"), ("Häuser", "de"),
              ("viviendas", "es"), ("case", "it"), ("будинків", "uk"), ("домов", "ru")],
    "hour": [("hours", "en"), ("heures", "fr"), ("Stunden", "de"), ("horas", "es"),
             ("ore", "it"), ("годин", "uk"), ("часов", "ru")],
    "day": [("days", "en"), ("jours", "fr"), ("Tagen", "de"), ("días", "es"),
            ("giorni", "it"), ("днів", "uk"), ("дней", "ru")],
    "year": [("years", "en"), ("ans", "fr"), ("Jahre", "de"), ("años", "es"), ("anni", "it"),
             ("років", "uk"), ("лет", "ru")],
}  # fmt: skip


@pytest.mark.parametrize("key", sorted(SAME_UNIT))
def test_word_forms_of_one_unit_share_a_key(key: str) -> None:
    found = {(word, language): unit_key(word, language) for word, language in SAME_UNIT[key]}
    assert found == {form: key for form in SAME_UNIT[key]}


def test_every_language_has_each_common_unit() -> None:
    for key in ("tonne", "firefighter", "passenger", "person", "death", "hour", "year"):
        assert {language for _w, language in SAME_UNIT[key]} == {
            "en", "fr", "de", "es", "it", "uk", "ru"
        }  # fmt: skip


def test_percent_and_currency_codes_are_their_own_key() -> None:
    assert unit_key("%", "de") == unit_key("%", "uk") == "%"
    assert unit_key("EUR", "fr") == "EUR" and unit_key("UAH", "uk") == "UAH"


def test_unknown_words_keep_their_lower_cased_form() -> None:
    assert unit_key("Weizen", "de") == "weizen"
    assert unit_key("efectivos", "es") == "efectivos"  # personnel: not guessed to be firefighters
    assert unit_key("медведей", "ru") == "медведей"
    assert unit_key(None, "en") is None and unit_key("  ", "en") is None


def test_different_units_stay_apart() -> None:
    assert unit_key("tonnes", "en") != unit_key("kg", "en")
    assert unit_key("soldats", "fr") != unit_key("pompiers", "fr")
    assert unit_key("passengers", "en") != unit_key("people", "en")
    # A plural ending is only stripped to find a listed word: "bus" is not "bu".
    assert unit_key("bus", "en") == "bus"
