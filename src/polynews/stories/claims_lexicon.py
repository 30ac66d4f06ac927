"""Per-language word lists of the claims extractor: cues, auxiliaries, pronouns, time words.

Every list is small and reads as what it is; the extractor's rules
(:mod:`polynews.stories.claims`) are the same for every language and only look
words up here. Ukrainian and Russian verbs of saying are listed as lemmas and
recognised in any form through ``pymorphy3`` (``заявила``, ``повідомили``,
``сообщил``).
"""

from __future__ import annotations

from dataclasses import dataclass


def _w(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True)
class Lexicon:
    """What the extractor needs to know about one language."""

    # Phrases that introduce the source after them: "according to X", "selon X".
    forward: tuple[str, ...]
    # Postpositions after the source: "dem Ministerium zufolge".
    backward: tuple[str, ...]
    # Finite forms of verbs of saying that carry a claim on their own: "said", "sagte".
    verbs: frozenset[str]
    # Participles that are a verb of saying only after an auxiliary: "a déclaré", "ha detto".
    participles: frozenset[str]
    auxiliaries: frozenset[str]
    # Lemmas of verbs of saying, matched through morphology (uk, ru).
    lemmas: frozenset[str]
    # Words that introduce reported content: "that", "que", "dass".
    subordinators: frozenset[str]
    pronouns: frozenset[str]
    # Words that start an adverbial, not a subject: before a verb of saying they mean
    # the speaker comes after it ("Am Montag sagte der Minister", "Как заявил министр").
    intro: frozenset[str]
    # Words after which a source phrase stops: relative pronouns, time words, "adding".
    stops: frozenset[str]
    # A word just before a cue that cancels it: "an estimated", "the said".
    vetoes_before: frozenset[str]
    # Objects of "told" and friends that are not part of the content: "told reporters".
    audience: frozenset[str]
    determiners: frozenset[str]
    # Words dropped at the start of a source: "as" in "As the minister said, ...".
    leading: frozenset[str] = frozenset()
    # Verbs that are also common nouns ("claims", "reports"): a cue only before "that".
    weak: frozenset[str] = frozenset()
    # German particle verbs: the verb counts only when its particle ends the clause
    # ("teilte ... mit"), or never when another one does ("sagte ... ab").
    particles: tuple[tuple[str, str, bool], ...] = ()


_EN = Lexicon(
    forward=("according to", "citing", "in the words of", "quoting"),
    backward=(),
    verbs=_w(
        "said says told tells stated states added adds warned warns claimed claims confirmed "
        "confirms estimated estimates reported reports noted notes explained explains insisted "
        "insists argued argues wrote writes acknowledged admitted admits stressed stresses "
        "predicted predicts assured assures announced announces maintained maintains "
        "disclosed revealed say estimate warn claim confirm insist argue admit stress "
        "predict maintain believes believe"
    ),
    participles=frozenset(),
    auxiliaries=_w("has have had"),
    lemmas=frozenset(),
    subordinators=_w("that"),
    pronouns=_w("he she they it we i"),
    intro=frozenset(),
    stops=_w(
        "who which that during when while adding yesterday today told "
        "monday tuesday wednesday thursday friday saturday sunday"
    ),
    vetoes_before=_w("an the was were be been being is are not"),
    audience=_w("reporters journalists parliament lawmakers"),
    determiners=_w("the a an this these its their his her"),
    leading=_w("as"),
    weak=_w(
        "claims estimates reports notes states maintains warns adds claim estimate warn "
        "stress maintain"
    ),
)

_FR = Lexicon(
    forward=("selon", "d'après", "d’après", "aux dires de", "de l'avis de", "de l’avis de"),
    backward=(),
    verbs=_w(
        "déclare affirme indique précise explique estime assure annonce ajoute souligne "
        "confie avertit reconnaît reconnait rapporte dit soutient observe note martèle "
        "déclarent affirment indiquent précisent expliquent estiment assurent annoncent "
        "ajoutent soulignent confient avertissent reconnaissent rapportent disent soutiennent "
        "déclara affirma indiqua précisa expliqua estima assura annonça ajouta souligna"
    ),
    participles=_w(
        "déclaré déclarée déclarés dit dite affirmé affirmée indiqué indiquée précisé précisée "
        "expliqué expliquée estimé estimée assuré assurée annoncé annoncée ajouté ajoutée "
        "souligné soulignée confié confiée averti avertie reconnu reconnue rapporté "
        "rapportée soutenu observé noté martelé fait raconté racontée confirmé "
        "confirmée"
    ),
    auxiliaries=_w(
        "a ont avait avaient aurait auraient a-t-il a-t-elle ont-ils ont-elles avait-il avait-elle"
    ),
    lemmas=frozenset(),
    subordinators=_w("que qu qu' qu’"),
    pronouns=_w("il elle ils elles on nous je"),
    intro=_w("comme"),
    stops=_w("qui lors mardi lundi mercredi jeudi vendredi samedi dimanche hier mais"),
    vetoes_before=_w("le la les un une été être est sont"),
    audience=_w("à aux au"),
    determiners=_w("le la les l' l’ un une ce cette son sa ses leur"),
    leading=_w("comme"),
    weak=_w("dit note observe rapporte"),
)

_DE = Lexicon(
    forward=(
        "laut",
        "nach angaben",
        "nach aussage",
        "nach aussagen",
        "nach einschätzung",
        "nach schätzungen",
        "nach informationen",
        "nach darstellung",
        "gemäß",
    ),
    backward=("zufolge",),
    verbs=_w(
        "sagte sagt sagten sagen erklärte erklärt erklärten betonte betont betonten "
        "schätzt schätzte schätzen schätzten berichtete berichtet berichteten warnte warnt "
        "warnten bestätigte bestätigt bestätigten versicherte versichert meinte meint "
        "behauptete behauptet kritisierte unterstrich unterstreicht hieß heißt schrieb "
        "schreibt mitteilte mitteilten behaupten erklären betonen warnen berichten "
        "bestätigen teilte teilt teilten gab gibt räumte wies"
    ),
    participles=_w("gesagt erklärt betont geschätzt mitgeteilt berichtet bestätigt"),
    auxiliaries=_w("hat haben hatte hatten"),
    lemmas=frozenset(),
    subordinators=_w("dass"),
    pronouns=_w("er sie es wir ich man"),
    intro=_w(
        "am im an in nach vor bei auf seit gestern heute morgen zudem außerdem dazu dabei "
        "auch darüber deshalb zuvor bereits noch weiter nun jetzt bisher zunächst später "
        "montag dienstag mittwoch donnerstag freitag samstag sonntag"
    ),
    stops=_w(
        "gegenüber montag dienstag mittwoch donnerstag freitag samstag sonntag gestern heute "
        "dass und"
    ),
    vetoes_before=_w("zu"),
    audience=frozenset(),
    determiners=_w("der die das den dem des ein eine einer eines einem"),
    leading=_w("wie"),
    particles=(
        ("teilte", "mit", True),
        ("teilt", "mit", True),
        ("teilten", "mit", True),
        ("gab", "bekannt", True),
        ("gibt", "bekannt", True),
        ("räumte", "ein", True),
        ("wies", "hin", True),
        ("sagte", "ab", False),
        ("sagt", "ab", False),
        ("sagten", "ab", False),
        ("sagen", "ab", False),
        ("sagte", "zu", False),
    ),
)

_ES = Lexicon(
    forward=("según", "de acuerdo con", "a juicio de", "en palabras de", "a decir de"),
    backward=(),
    verbs=_w(
        "dijo afirmó declaró aseguró explicó señaló indicó estimó informó añadió advirtió "
        "precisó reconoció confirmó subrayó sostuvo detalló apuntó comentó relató calculó "
        "dice afirma declara asegura explica señala indica estima informa añade advierte "
        "precisa reconoce confirma subraya sostiene detalla apunta calcula "
        "dijeron afirmaron declararon aseguraron explicaron señalaron indicaron estimaron "
        "informaron añadieron advirtieron precisaron reconocieron confirmaron detallaron "
        "dicen afirman aseguran señalan estiman calculan contó contaba relataba "
        "denuncia denuncian denunció "
        "denunciaron"
    ),
    participles=_w(
        "dicho afirmado declarado asegurado explicado señalado indicado estimado informado "
        "añadido advertido precisado reconocido confirmado subrayado sostenido detallado"
    ),
    auxiliaries=_w("ha han había habían habría"),
    lemmas=frozenset(),
    subordinators=_w("que"),
    pronouns=_w("él ella ellos ellas"),
    intro=_w("como así"),
    stops=_w(
        "que quien el este esta durante tras lunes martes miércoles jueves viernes sábado "
        "domingo ayer hoy a ante"
    ),
    vetoes_before=_w("lo se fue fueron ser es son está"),
    audience=_w("a al ante"),
    determiners=_w("el la los las un una este esta su sus"),
    weak=_w("dice indica apunta denuncia denuncian denunció denunciaron"),
)

_IT = Lexicon(
    forward=(
        "secondo",
        "stando a",
        "stando al",
        "stando alla",
        "stando ai",
        "stando alle",
        "a detta di",
        "a detta del",
        "a detta della",
        "a detta dei",
        "a detta degli",
        "per bocca di",
    ),
    backward=(),
    verbs=_w(
        "dice afferma dichiara spiega sottolinea precisa aggiunge riferisce annuncia stima "
        "conferma ammette assicura avverte racconta sostiene osserva ricorda "
        "dicono affermano dichiarano spiegano sottolineano stimano sostengono "
        "disse affermò dichiarò spiegò sottolineò precisò aggiunse riferì annunciò stimò "
        "confermò ammise assicurò avvertì raccontò"
    ),
    participles=_w(
        "detto dichiarato affermato spiegato sottolineato precisato aggiunto riferito "
        "annunciato stimato confermato ammesso assicurato avvertito raccontato sostenuto "
        "osservato ricordato fatto"
    ),
    auxiliaries=_w("ha hanno aveva avevano avrebbe avrebbero"),
    lemmas=frozenset(),
    subordinators=_w("che"),
    pronouns=_w("lui lei loro egli ella"),
    intro=_w("come così"),
    stops=_w(
        "che il in nel nella durante dopo lunedì martedì mercoledì giovedì venerdì sabato "
        "domenica ieri oggi a ai al alla davanti"
    ),
    vetoes_before=_w("il lo è sono stato stata detto"),
    audience=_w("a ai al alla alle"),
    determiners=_w("il lo la i gli le l' l’ un una uno suo sua"),
)

_UK = Lexicon(
    forward=(
        "за словами",
        "за даними",
        "за інформацією",
        "за оцінками",
        "за оцінкою",
        "за повідомленням",
        "за прогнозом",
        "за прогнозами",
        "за підрахунками",
        "на думку",
        "як повідомляє",
        "як повідомляють",
        "згідно з даними",
    ),
    backward=(),
    verbs=frozenset(),
    participles=frozenset(),
    auxiliaries=frozenset(),
    lemmas=_w(
        "заявити заявляти сказати казати повідомити повідомляти зазначити зазначати "
        "наголосити наголошувати підкреслити підкреслювати розповісти розповідати пояснити "
        "пояснювати уточнити уточнювати оцінити оцінювати додати додавати попередити "
        "попереджати визнати визнавати підтвердити підтверджувати стверджувати написати "
        "запевнити запевняти йтися"
    ),
    subordinators=_w("що"),
    weak=_w("визнати визнавати"),
    pronouns=_w("він вона вони воно ми я"),
    intro=_w(
        "у в на після до про як також вчора сьогодні раніше згодом потім при за під "
        "понеділок вівторок середу четвер пʼятницю п'ятницю суботу неділю"
    ),
    stops=_w("у в на під після вчора сьогодні в понеділок що який яка які журналістам"),
    vetoes_before=frozenset(),
    audience=_w("журналістам репортерам"),
    determiners=frozenset(),
)

_RU = Lexicon(
    forward=(
        "по данным",
        "по словам",
        "по информации",
        "по оценкам",
        "по оценке",
        "по сообщению",
        "по прогнозу",
        "по прогнозам",
        "по подсчётам",
        "по подсчетам",
        "по мнению",
        "согласно данным",
        "как сообщает",
        "как сообщают",
    ),
    backward=(),
    verbs=frozenset(),
    participles=frozenset(),
    auxiliaries=frozenset(),
    lemmas=_w(
        "заявить заявлять сказать говорить сообщить сообщать отметить отмечать подчеркнуть "
        "подчёркивать подчеркивать рассказать рассказывать пояснить пояснять уточнить "
        "уточнять оценить оценивать добавить добавлять предупредить предупреждать признать "
        "признавать подтвердить подтверждать утверждать написать заверить заверять говориться "
        "уверять уверить"
    ),
    subordinators=_w("что"),
    weak=_w("признать признавать"),
    pronouns=_w("он она они оно мы я"),
    intro=_w(
        "в во на после до об о как также вчера сегодня ранее затем потом при за под "
        "понедельник вторник среду четверг пятницу субботу воскресенье"
    ),
    stops=_w("в во на после вчера сегодня что который которая которые журналистам"),
    vetoes_before=frozenset(),
    audience=_w("журналистам репортёрам репортерам"),
    determiners=frozenset(),
)

# -- words the shared rules consult, whatever the language ------------------------

ITALIAN_ORDINAL_BEFORE = _w("il al del nel dal un lo la in per ogni col è arrivato arrivata posto")
ITALIAN_ORDINAL_AFTER = _w("luogo tempo posto piano turno giorno anno")
SPANISH_AGREE = _w("está están estoy estamos estaba estaban estar muy no totalmente mostró se")
# Words that open reported content right after a verb of saying, so the speaker is not
# there: subject pronouns (not in German, Ukrainian and Russian, where "sagte er",
# "сказал он" are the usual inversion) and infinitive markers.
CONTENT_STARTS = {
    "en": _w("he she they it we i to"),
    "fr": _w("il elle ils elles nous je avoir être"),
    "es": _w("haber ser"),
    "it": _w("di aver avere essere"),
    "de": frozenset[str](),
    "uk": frozenset[str](),
    "ru": frozenset[str](),
}
PREPOSITIONS = {
    "en": _w("in at on to for with by from during after before outside inside"),
    "fr": _w("à au aux en dans pour par avec lors après avant sur devant"),
    "es": _w("a en con por para durante tras ante sobre"),
    "it": _w("a in con per durante dopo su davanti"),
    "de": _w("in im am an auf bei nach vor mit"),
    "uk": _w("у в на з із до по для під після під час"),
    "ru": _w("в во на с со до по для под после"),
}
TELL = _w("told tells tell")
# Participles that say something only with the next word: "ha fatto sapere".
COMPLETIONS = {"fatto": "sapere", "fait": "savoir", "fanno": "sapere", "fa": "sapere"}
FAREWELLS = _w("goodbye farewell adieu adiós addio")
# Heads of phrases after "according to" that name a rule followed, not a speaker.
NOT_SPEAKERS = _w(
    "vraisemblance probabilité plan plans schedule timetable rules regulations law horaires "
    "calendrier règles loi programme prévu fahrplan regeln gesetz horario calendario reglas "
    "ley orario regole legge графіком графиком планом розкладом расписанию правилам закону"
)
TIME_PREPOSITIONS = _w("on am le el il в у in la por di")
TIME_WORDS = {
    "en": _w(
        "monday tuesday wednesday thursday friday saturday sunday yesterday today morning "
        "afternoon evening night"
    ),
    "fr": _w("lundi mardi mercredi jeudi vendredi samedi dimanche hier soir matin après-midi"),
    "de": _w(
        "montag dienstag mittwoch donnerstag freitag samstag sonntag gestern abend morgen "
        "mittag nachmittag vormittag abends"
    ),
    "es": _w("lunes martes miércoles jueves viernes sábado domingo ayer tarde noche"),
    "it": _w(
        "lunedì martedì mercoledì giovedì venerdì sabato domenica ieri sera mattina pomeriggio"
    ),
    "uk": _w(
        "понеділок вівторок середу четвер п'ятницю пʼятницю суботу неділю вчора ввечері вранці"
    ),
    "ru": _w("понедельник вторник среду четверг пятницу субботу воскресенье вчера вечером утром"),
}


LEXICONS: dict[str, Lexicon] = {
    "en": _EN,
    "fr": _FR,
    "de": _DE,
    "es": _ES,
    "it": _IT,
    "uk": _UK,
    "ru": _RU,
}

__all__ = [
    "COMPLETIONS", "CONTENT_STARTS", "FAREWELLS", "ITALIAN_ORDINAL_AFTER",
    "ITALIAN_ORDINAL_BEFORE", "LEXICONS", "NOT_SPEAKERS", "PREPOSITIONS", "SPANISH_AGREE",
    "TELL", "TIME_PREPOSITIONS", "TIME_WORDS", "Lexicon",
]  # fmt: skip
