"""Attributed claims per language: detection, source, cue, content and quantities."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from polynews.stories.claims import ClaimExtractor, extract_claims, extract_claims_lines
from polynews.stories.claims_cli import app
from polynews.stories.claims_sentences import claim_sentences

# (language, sentence, source, cue, [(value, unit, qualifier)])
ATTRIBUTED = [
    ("en", "According to Ukrainian intelligence, up to 40 % of munitions come from abroad.",
     "Ukrainian intelligence", "According to", [(40, "%", "up to")]),
    ("en", "About 2,000 soldiers were killed, according to September assessments.",
     "September assessments", "according to", [(2000, "soldiers", "about")]),
    ("en", "“We will not stop. The strike goes on,” said Anna Weber, the head of the union.",
     "Anna Weber, the head of the union", "said", []),
    ("en", "The ministry said on Tuesday that 300 trains had been cancelled.",
     "The ministry", "said", [(300, "trains", None)]),
    ("en", "“We lost nearly €4.6bn,” the finance minister told reporters.",
     "the finance minister", "told", [(4_600_000_000, "EUR", "nearly")]),
    ("fr", "« Nous ne céderons pas », a déclaré Jean Dupont, le secrétaire du syndicat.",
     "Jean Dupont, le secrétaire du syndicat", "a déclaré", []),
    ("fr", "Selon la préfecture, environ 10 000 habitants ont été évacués.",
     "la préfecture", "Selon", [(10000, "habitants", "about")]),
    ("fr", "D'après la SNCF, 40 % des TGV ont été supprimés.", "la SNCF", "D'après",
     [(40, "%", None)]),
    ("de", "Laut Polizei wurden bis zu 1,5 Millionen Euro erbeutet.", "Polizei", "Laut",
     [(1_500_000, "EUR", "up to")]),
    ("de", "Am Montag sagte der Minister, die Bahn habe 300 Züge gestrichen.",
     "der Minister", "sagte", [(300, "züge", None)]),
    ("de", "Nach Angaben der Polizei mussten etwa 2.600 Menschen ihre Häuser verlassen.",
     "der Polizei", "Nach Angaben", [(2600, "menschen", "about")]),
    ("de", "Dem Ministerium zufolge fielen 40 Prozent der Züge aus.", "Dem Ministerium",
     "zufolge", [(40, "%", None)]),
    ("de", "„Wir geben nicht auf“, so Weber.", "Weber", "so", []),
    ("es", "Según el Ministerio del Interior, unos 2.600 vecinos fueron desalojados.",
     "el Ministerio del Interior", "Según", [(2600, "vecinos", "about")]),
    ("es", "«No nos vamos a rendir», dijo el portavoz sindical.", "el portavoz sindical",
     "dijo", []),
    ("es", "La policía ha confirmado que hay 2 detenidos.", "La policía", "ha confirmado",
     [(2, "detenidos", None)]),
    ("it", "Secondo la protezione civile, circa 10 mila persone sono state evacuate.",
     "la protezione civile", "Secondo", [(10000, "persone", "about")]),
    ("it", "«Possiamo caricare fino a 12.000 tonnellate», ha detto il direttore.",
     "il direttore", "ha detto", [(12000, "tonnellate", "up to")]),
    ("uk", "За словами міністра оборони, близько 10 000 солдатів перебувають на фронті.",
     "міністра оборони", "За словами", [(10000, "солдатів", "about")]),
    ("uk", "«Ми не здамося», — заявила голова профспілки Олена Коваль.",
     "голова профспілки Олена Коваль", "заявила", []),
    ("uk", "За даними розвідки, до 40 % боєприпасів надходять з-за кордону.", "розвідки",
     "За даними", [(40, "%", "up to")]),
    ("ru", "По данным МЧС, более 2 600 человек эвакуированы.", "МЧС", "По данным",
     [(2600, "человек", "more than")]),
    ("ru", "По словам министра, экспорт вырос до 2,3 млн тонн.", "министра", "По словам",
     [(2_300_000, "тонн", None)]),
    ("ru", "Как сообщил губернатор области, работают свыше 450 спасателей.",
     "губернатор области", "сообщил", [(450, "спасателей", "more than")]),
    ("ru", "В сообщении компании говорится, что на заводе будут работать 1 200 рабочих.",
     "сообщении компании", "говорится", [(1200, "рабочих", None)]),
]  # fmt: skip

# Sentences with numbers, or with look-alikes of cues, that nobody is said to state.
NOT_ATTRIBUTED = [
    ("en", "An estimated 2,000 people joined the march through Lyon."),
    ("en", "The said canvas had been insured for 2 million dollars."),
    ("en", "Workers were told to leave the site by 6 p.m."),
    ("en", "Trains ran according to the emergency timetable on Thursday."),
    ("en", "Reports of looting in Borgoleone could not be verified."),
    ("fr", "Le montant, estimé à 4 millions d'euros, n'a jamais été versé."),
    ("fr", "Les trains circuleront selon les horaires habituels."),
    ("de", "Die Bahn sagte am Montag 300 Verbindungen ab."),
    ("de", "Die Menge war laut, aber friedlich."),
    ("de", "Über die Donauhäfen wurden im Oktober 2,3 Millionen Tonnen verschifft."),
    ("es", "Los sindicatos no están de acuerdo con la propuesta del Gobierno."),
    ("es", "Más de 450 bomberos trabajan en la zona."),
    ("it", "Per il secondo giorno consecutivo 300 treni sono stati cancellati."),
    ("it", "In secondo luogo, sono stati mobilitati 450 vigili del fuoco."),
    ("uk", "Заявка на участь у тендері надійшла в понеділок."),
    ("uk", "Експорт зерна зріс до 2,3 млн тонн."),
    ("ru", "Железнодорожное сообщение между городами было прервано на сутки."),
    ("ru", "Около 10 000 жителей были вынуждены покинуть свои дома."),
]


@pytest.mark.parametrize(("language", "sentence", "source", "cue", "quantities"), ATTRIBUTED)
def test_attributed_statement(
    language: str,
    sentence: str,
    source: str,
    cue: str,
    quantities: list[tuple[float, str | None, str | None]],
) -> None:
    (claim,) = extract_claims(sentence, language)
    assert claim.source == source
    assert claim.cue == cue
    assert [(q.value, q.unit, q.qualifier) for q in claim.quantities] == quantities
    assert claim.content
    assert cue not in claim.content
    assert claim.source not in claim.content


@pytest.mark.parametrize(("language", "sentence"), NOT_ATTRIBUTED)
def test_sentence_without_a_source_is_not_a_claim(language: str, sentence: str) -> None:
    assert extract_claims(sentence, language) == []


def test_a_verb_of_saying_inside_a_quotation_is_not_the_cue() -> None:
    (claim,) = extract_claims(
        '"Nobody should go back home until we say so," the mayor, Lucia Ferrandi, told reporters.',
        "en",
    )
    assert (claim.cue, claim.source) == ("told", "the mayor, Lucia Ferrandi")
    (claim,) = extract_claims("«Nos dijeron que saliéramos ya», contó una vecina de 74 años.", "es")
    assert claim.cue == "contó"


def test_a_weak_verb_after_an_auxiliary_is_a_cue() -> None:
    (claim,) = extract_claims("« Le cadre seul vaut 2 millions d'euros », a-t-elle dit.", "fr")
    assert claim.cue == "a-t-elle dit"
    assert claim.source is None
    assert [(q.value, q.unit) for q in claim.quantities] == [(2_000_000, "EUR")]
    assert extract_claims("Le ministre dit non à la réforme des retraites.", "fr") == []


def test_subject_with_apposition_before_the_verb() -> None:
    (claim,) = extract_claims(
        "Chiara Bellandi, the museum's director, said she had cried when she saw it.", "en"
    )
    assert claim.source == "Chiara Bellandi, the museum's director"
    (claim,) = extract_claims(
        "Maren Solberg, a regional director of the World Food Programme who joined the "
        "afternoon session, said harvests had fallen by 40 %.",
        "en",
    )
    assert claim.source == "Maren Solberg"
    (claim,) = extract_claims(
        "Украинские порты отгрузили 2,3 миллиона тонн зерна, сообщили в среду в Киеве.", "ru"
    )
    assert claim.source is None
    assert claim.quantities[0].value == 2_300_000


def test_content_leaves_out_the_attribution() -> None:
    (claim,) = extract_claims(
        "The ministry said on Tuesday that 300 trains had been cancelled.", "en"
    )
    assert claim.content == "300 trains had been cancelled"
    (claim,) = extract_claims("«Ми не здамося», — заявила голова профспілки Олена Коваль.", "uk")
    assert claim.content == "Ми не здамося"


def test_numbers_in_the_source_are_not_quantities_of_the_claim() -> None:
    (claim,) = extract_claims("According to 3 officials, 40 % of trains were cancelled.", "en")
    assert [(q.value, q.unit) for q in claim.quantities] == [(40, "%")]


def test_pronoun_takes_the_previous_source_of_the_paragraph_or_is_left_out() -> None:
    text = (
        "The mayor, Lucia Ferrandi, said that 10 000 people had left. "
        '"Nobody must go back," she said.'
    )
    first, second = extract_claims(text, "en")
    assert first.source == "The mayor, Lucia Ferrandi"
    assert second.source == "The mayor, Lucia Ferrandi"
    (alone,) = extract_claims('"Nobody must go back," she said.', "en")
    assert alone.source is None
    (dropped,) = extract_claims("Los ladrones pidieron 2 millones de euros, dijo.", "es")
    assert dropped.source is None
    assert dropped.quantities[0].value == 2_000_000


@pytest.mark.parametrize(
    ("language", "text", "count"),
    [
        ("en", "“The strike goes on. We will not stop,” said Weber. Trains stood still.", 2),
        ("en", "Dr. Weber said 40 % of trains ran. Mr. Dupont disagreed.", 2),
        ("fr", "« La grève continue. Nous ne céderons pas », a dit M. Aubry. Fin.", 2),
        ("de", "„Der Streik geht weiter. Wir geben nicht auf“, sagte Weber. Ende.", 2),
        ("ru", "Завод построен в 2020 г. на окраине города. Он работает.", 2),
        ("uk", "«Ми не здамося. Страйк триває», — заявила Коваль. Кінець.", 2),
    ],
)
def test_sentences_keep_quotations_and_abbreviations_whole(
    language: str, text: str, count: int
) -> None:
    assert len(claim_sentences(text, language)) == count


def test_a_quotation_spanning_two_sentences_is_one_claim() -> None:
    (claim,) = extract_claims(
        "“The strike goes on. We will not stop,” said Anna Weber. Trains stood still.", "en"
    )
    assert claim.content == "The strike goes on. We will not stop"
    assert claim.source == "Anna Weber"


def test_json_lines_function_numbers_input_lines() -> None:
    lines = [
        "According to the ministry, about 10,000 soldiers were deployed. The sky was blue.",
        "",
        "Nothing to see here: 300 trains ran.",
        '"We will not stop," said Anna Weber. Police said 2 people were held.',
    ]
    out = list(extract_claims_lines(lines, "en"))
    assert [row["line"] for row in out] == [1, 4, 4]
    assert out[0] == {
        "line": 1,
        "sentence": "According to the ministry, about 10,000 soldiers were deployed.",
        "source": "the ministry",
        "cue": "According to",
        "content": "about 10,000 soldiers were deployed",
        "quantities": [
            {"text": "about 10,000 soldiers", "value": 10000, "unit": "soldiers",
             "qualifier": "about"},
        ],
    }  # fmt: skip
    assert [row["source"] for row in out[1:]] == ["Anna Weber", "Police"]
    json.dumps(out)  # every value is JSON


def test_cli_extract_reads_stdin_and_writes_json_lines() -> None:
    runner = CliRunner()
    text = "Selon la préfecture, environ 10 000 habitants ont été évacués.\nIl pleut.\n"
    result = runner.invoke(app, ["extract", "--lang", "fr"], input=text)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 1
    assert rows[0]["source"] == "la préfecture"
    assert rows[0]["quantities"][0]["value"] == 10000


def test_cli_and_extractor_refuse_an_unsupported_language() -> None:
    result = CliRunner().invoke(app, ["extract", "--lang", "pt"], input="Olá.\n")
    assert result.exit_code == 2
    assert "unsupported language" in result.output
    with pytest.raises(ValueError, match="unsupported language"):
        ClaimExtractor("pt")
