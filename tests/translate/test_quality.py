"""The quality layer: protected spans survive the real engine; output is tidied."""

from __future__ import annotations

import pytest

from polynews.config import defaults
from polynews.translate.apertium import ApertiumBackend
from polynews.translate.quality import Protector, Tricks, match_case, normalise, typography
from polynews.translate.router import Router
from polynews.translate.translator import Translator, translate_lines


def test_normalise_spaces_and_punctuation() -> None:
    assert normalise("  Hola  ,  mundo ( bien ) .", "es") == "Hola, mundo (bien)."
    assert normalise("Quoi ? Oui : non !", "fr") == "Quoi ? Oui : non !"
    assert normalise("What ? Yes : no !", "en") == "What? Yes: no!"
    assert normalise("40 % más", "es") == "40 % más"  # the space before % is the source's


def test_typography_straightens_quotes_for_english_and_italian_only() -> None:
    assert typography("Il a dit « oui » et “non”.", "en") == 'Il a dit "oui" et "non".'
    assert typography("«\u00a0sì\u00a0»", "it") == '"sì"'
    assert typography("Dijo « sí ».", "es") == "Dijo « sí »."
    assert typography("Il a dit « oui ».", "fr") == "Il a dit « oui »."
    assert typography("un « seul", "en") == "un « seul"  # unpaired: left alone


def test_match_case_only_lowers_a_capitalised_fragment() -> None:
    assert (
        match_case("fragment en minuscules", "Fragmento en minúsculas") == "fragmento en minúsculas"
    )
    assert match_case("Le chat", "El gato") == "El gato"
    assert match_case("iPhone vendu", "IPhone vendido") == "IPhone vendido"


def test_urls_and_emails_become_placeholders_and_come_back() -> None:
    protector = Protector(Tricks(names=False))
    [item] = protector.protect(["Voir https://example.org/a-b?c=1. ou écrire à a.b@example.org"])
    assert "https" not in item.text and "@" not in item.text
    assert protector.restore(item, item.text) == item.original
    assert protector.restore(item, item.text.replace("Zqxa", "")) is None


def test_placeholder_prefix_avoids_text_that_contains_it() -> None:
    protector = Protector(Tricks(names=False))
    [item] = protector.protect(["Zqxa www.example.org"])
    assert all(not token.startswith("Zqx") for token in item.spans)


@pytest.mark.apertium
@pytest.mark.parametrize("target", ["es", "en", "it"])
def test_names_and_numbers_survive_every_route(apertium: ApertiumBackend, target: str) -> None:
    translator = Translator(Router([apertium]))
    text = [
        "Kim Jong Un a rencontré Choe Son Hui à Pyongyang.",
        "Il y a 10 000 soldats, soit 40 % de plus.",
        "Kim Jong Un a dit que le sommet était un succès.",
    ]
    result = translator.translate_texts(text, "fr", target)
    assert result is not None and len(result.segments) == 3
    first, numbers, said = result.segments
    assert "Kim Jong Un" in first and "Choe Son Hui" in first
    assert "10 000" in numbers and "40 %" in numbers
    assert said.startswith("Kim Jong Un ") and said.split()[3].islower()


@pytest.mark.apertium
def test_name_spans_keep_titles_and_place_words_translatable(apertium: ApertiumBackend) -> None:
    protector = Protector(Tricks(urls=False), lambda ls: apertium.analyse(ls, "en", "es"))
    text = "The United States President Donald Trump saw the Artibonite River."
    [item] = protector.protect([text])
    assert sorted(item.spans.values()) == ["Donald Trump"]  # not "President", not "River"
    [item] = protector.protect(["Choe Son Hui met Emma Stone."])
    assert sorted(item.spans.values()) == ["Choe Son Hui", "Emma Stone"]
    # Found on FLORES en→es: a surname alone, a place or a plural noun does not start
    # a name with the common noun after it; a first name does.
    for text in ("the Nobel Committee", "the Jordan Valley", "the Camp David Accords"):
        [item] = protector.protect([text])
        assert item.spans == {}, text
    [item] = protector.protect(["Adam Hall won at Ellis Park."])
    assert sorted(item.spans.values()) == ["Adam Hall", "Ellis Park"]


@pytest.mark.apertium
def test_raw_engine_does_mangle_the_names(apertium: ApertiumBackend) -> None:
    # Guards the test above: without protection the engine really breaks these names.
    raw = apertium.translate(["Kim Jong Un a rencontré Choe Son Hui."], "fr", "es")[0]
    assert "Kim Jong Un " not in raw or "Choe Son Hui" not in raw


@pytest.mark.apertium
def test_translate_lines_keeps_line_count(apertium: ApertiumBackend) -> None:
    settings = defaults()
    translator = Translator(Router([apertium]))
    lines = ["Kim Jong Un est arrivé.\n", "\n", "Il pleut.\n", "   \n", "Fin"]
    out = list(
        translate_lines(settings, lines, "fr", "en", explain=True, translator=translator, batch=2)
    )
    assert out[0] == f"# route: apertium fr→es→en (version {apertium.version})"
    assert len(out) == 1 + len(lines)
    assert out[1].startswith("Kim Jong Un ") and out[2] == "" and out[4].strip() == ""


def test_match_case_lowers_the_word_apertium_capitalised_after_a_name() -> None:
    assert match_case("Danius said, hello", "Danius Dijo, hola") == "Danius dijo, hola"
    assert match_case("Gosling and Stone won.", "Gosling Y Stone ganó.") == "Gosling y Stone ganó."
    # In the source the name comes before a capital, or the word is the source's own.
    assert match_case("Halifax Nova Scotia", "Halifax Nueva Escocia") == "Halifax Nueva Escocia"
    assert match_case("Kim met Putin", "Kim Putin conoció") == "Kim Putin conoció"
    assert match_case("Le président Macron", "El presidente Macron") == "El presidente Macron"
