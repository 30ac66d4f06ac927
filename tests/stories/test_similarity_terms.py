"""Name and number keys: spellings across scripts and number formats meet; others do not."""

from __future__ import annotations

import pytest

from polynews.stories.terms import (
    TermStats,
    article_terms,
    cosine,
    name_key,
    number_key,
    number_value,
    transliterate,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10,000", 10000.0),
        ("10 000", 10000.0),
        ("10.000", 10000.0),
        ("10\u00a0000", 10000.0),  # non-breaking space (French, Russian typesetting)
        ("10\u202f000", 10000.0),  # narrow no-break space
        ("1.234.567", 1234567.0),
        ("1,234,567", 1234567.0),
        ("1.234,5", 1234.5),
        ("1,234.5", 1234.5),
        ("4,6", 4.6),
        ("4.6", 4.6),
        ("2,3", 2.3),
        ("0.500", 0.5),  # a leading zero never groups thousands
        ("2025", 2025.0),
        ("40", 40.0),
    ],
)
def test_number_values_are_normalised(text: str, value: float) -> None:
    assert number_value(text) == pytest.approx(value)


def test_number_keys_are_one_term_per_value() -> None:
    assert number_key(10000.0) == "#10000"
    assert number_key(4.6) == "#4.6"
    spellings = ["10,000 people", "10 000 personnes", "10.000 Menschen", "10\u00a0000 человек"]
    keys = [{k for k in article_terms(s) if k.startswith("#")} for s in spellings]
    assert keys == [{"#10000"}] * 4


@pytest.mark.parametrize(
    ("spellings", "languages"),
    [
        (["Зеленський", "Зеленский", "Zelensky", "Selenskyj", "Zełenski"],
         ["uk", "ru", "en", "de", "pl"]),
        (["Києві", "Киев", "Kyiv", "Kiew"], ["uk", "ru", "en", "de"]),
        (["Харкові", "Kharkiv", "Charkiw"], ["uk", "en", "de"]),
        (["Улан-Баторі", "Ulaanbaatar", "Oulan-Bator"], ["uk", "en", "fr"]),
        (["Ізмаїлі", "Измаил", "Izmail"], ["uk", "ru", "en"]),
        (["Дрездена", "Dresden"], ["ru", "de"]),
    ],
)  # fmt: skip
def test_name_spellings_across_scripts_share_a_key(
    spellings: list[str], languages: list[str]
) -> None:
    keys = {name_key(word, lang) for word, lang in zip(spellings, languages, strict=True)}
    assert len(keys) == 1, keys


def test_different_names_get_different_keys() -> None:
    names = ["Zelensky", "Dresden", "Lyon", "Kourou", "Borgoleone", "Andalusia", "Mongolia"]
    assert len({name_key(n) for n in names}) == len(names)


def test_transliteration_follows_the_language() -> None:
    assert transliterate("Гаага", "uk") == "haaha"  # Ukrainian г is h
    assert transliterate("Гаага", "ru") == "gaaga"
    assert transliterate("Łódź") == "lodz"


def test_article_terms_keep_names_and_numbers_and_drop_lower_case_words() -> None:
    terms = article_terms("Kim Jong Un wrote to Mongolia about 2,3 million tonnes of grain.")
    assert terms[name_key("Mongolia")] == 1
    assert "#2.3" in terms
    assert f"{name_key('Jong')}+{name_key('Un')}" in terms  # adjacent names pair up
    assert name_key("grain") not in terms and name_key("tonnes") not in terms


def test_tfidf_cosine_links_the_same_story_across_scripts() -> None:
    stats = TermStats()
    uk = article_terms("У Києві Зеленський зустрівся з прем'єром Туском: 10 000 тонн", "uk")
    en = article_terms("In Kyiv, Zelensky met prime minister Tusk: 10,000 tonnes", "en")
    other = article_terms("In Lyon, police recovered a painting stolen in 1998", "en")
    for terms in (uk, en, other):
        stats.add(terms)
    assert cosine(stats.vector(uk), stats.vector(en)) > 0.6
    assert cosine(stats.vector(uk), stats.vector(other)) == 0.0


def test_term_stats_round_trip_and_weigh_rare_terms_more() -> None:
    stats = TermStats()
    for _ in range(9):
        stats.add(["#2025"])
    stats.add(["#2025", "slnsk"])
    assert stats.idf("slnsk") > stats.idf("#2025")
    again = TermStats.from_data(stats.to_data(min_df=1))
    assert again == stats
    assert "slnsk" not in TermStats.from_data(stats.to_data(min_df=2)).df
