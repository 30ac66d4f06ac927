"""Sentence splitting with per-language abbreviations, and paragraph reassembly."""

from __future__ import annotations

import pytest

from polynews.translate.sentences import join_sentences, sentence_spans, split_sentences


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        (
            "en",
            "Dr. Smith met Mrs. Jones at 9 a.m. on Jan. 5. They talked. It was over?! Yes.",
            [
                "Dr. Smith met Mrs. Jones at 9 a.m. on Jan. 5.",
                "They talked.",
                "It was over?!",
                "Yes.",
            ],
        ),
        (
            "en",
            '"We will not give up," she said. "Never!" Then J. R. Ewing left... The end.',
            [
                '"We will not give up," she said.',
                '"Never!"',
                "Then J. R. Ewing left...",
                "The end.",
            ],
        ),
        (
            "en",
            "See No. 5 on the list. I said no. Then I left.",
            ["See No. 5 on the list.", "I said no.", "Then I left."],
        ),
        ("en", "Talks in the U.S. resumed.", ["Talks in the U.S. resumed."]),
        (
            "de",
            "Am 3. Oktober kam z. B. der Zug. Das war 2023. Dann kam Herr Müller, d.h. der Chef.",
            [
                "Am 3. Oktober kam z. B. der Zug.",
                "Das war 2023.",
                "Dann kam Herr Müller, d.h. der Chef.",
            ],
        ),
        (
            "fr",
            "M. Dupont est arrivé. Mme Martin aussi. « Bonjour ! » dit-elle. « Entrez. » Merci.",
            [
                "M. Dupont est arrivé.",
                "Mme Martin aussi.",
                "« Bonjour ! » dit-elle.",
                "« Entrez. »",
                "Merci.",
            ],
        ),
        (
            "es",
            "¿Quién pagará? El Sr. García no lo sabe. ¡Qué caro! EE.UU. respondió.",
            ["¿Quién pagará?", "El Sr. García no lo sabe.", "¡Qué caro!", "EE.UU. respondió."],
        ),
        (
            "it",
            "Il Sig. Rossi e il Dott. Bianchi sono arrivati. Poi è piovuto.",
            ["Il Sig. Rossi e il Dott. Bianchi sono arrivati.", "Poi è piovuto."],
        ),
        (
            "uk",
            "Міська рада ухвалила бюджет. Вул. Хрещатик закрита. Проф. Іваненко сказав: «Ні». Все.",
            [
                "Міська рада ухвалила бюджет.",
                "Вул. Хрещатик закрита.",
                "Проф. Іваненко сказав: «Ні».",
                "Все.",
            ],
        ),
        (
            "en",
            "3.5 percent rose. Version 2.0 shipped.",
            ["3.5 percent rose.", "Version 2.0 shipped."],
        ),
        (
            "de",
            "Alle schrien und weinten.“ Sie rannten los. Er sagte: „So nicht.“ Dann ging er.",
            [
                "Alle schrien und weinten.“",
                "Sie rannten los.",
                "Er sagte: „So nicht.“",
                "Dann ging er.",
            ],
        ),
        (
            "fr",
            "Il fera plus chaud la nuit\u2009». «\u00a0Leur comportement change.\u00a0»",
            ["Il fera plus chaud la nuit\u2009».", "«\u00a0Leur comportement change.\u00a0»"],
        ),
        (
            "it",
            "Supporta 802.11a e 802.11g. Le velocità salgono. Magnitudo 6.5. Nessun danno.",
            [
                "Supporta 802.11a e 802.11g.",
                "Le velocità salgono.",
                "Magnitudo 6.5.",
                "Nessun danno.",
            ],
        ),
        ("en", "No final stop here", ["No final stop here"]),
        ("en", "  padded.   Text  ", ["padded.", "Text"]),
        ("en", "", []),
        ("xx", "Unknown language. Still splits.", ["Unknown language.", "Still splits."]),
    ],
)
def test_split(lang: str, text: str, expected: list[str]) -> None:
    assert split_sentences(text, lang) == expected


def test_line_breaks_inside_a_paragraph_always_split() -> None:
    assert split_sentences("A list:\nfirst item\nsecond item", "en") == [
        "A list:",
        "first item",
        "second item",
    ]


def test_spans_point_into_the_text() -> None:
    text = "One. Two!\n\nThree?"
    spans = sentence_spans(text, "en")
    assert [text[a:b] for a, b in spans] == ["One.", "Two!", "Three?"]


def test_long_sentences_are_cut_at_clauses() -> None:
    text = "alpha beta gamma, delta epsilon zeta; eta theta iota kappa lambda mu"
    spans = sentence_spans(text, "en", max_chars=30)
    pieces = [text[a:b] for a, b in spans]
    assert all(len(p) <= 30 for p in pieces)
    assert " ".join(pieces) == text
    assert pieces[0] == "alpha beta gamma,"


def test_unbroken_token_is_cut_rather_than_lost() -> None:
    text = "x" * 25
    pieces = [text[a:b] for a, b in sentence_spans(text, "en", max_chars=10)]
    assert "".join(pieces) == text


def test_join_keeps_line_breaks_and_uses_spaces_otherwise() -> None:
    text = "A b.  C d!\n\nE f"
    spans = sentence_spans(text, "en")
    assert join_sentences(text, spans, [" 1 ", "2", "3"]) == "1 2\n3"


def test_join_refuses_a_wrong_count() -> None:
    with pytest.raises(ValueError, match="2 sentences but 1 translations"):
        join_sentences("One. Two.", sentence_spans("One. Two.", "en"), ["x"])
