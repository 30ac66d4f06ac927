"""A generated outlet for the ingest benchmark: many distinct pages, built on request.

Page ``i`` is a pure function of ``i``: sentences are drawn from per-language templates
and word lists with a generator seeded by the index, so two pages share almost no
5-word sequence (no near-duplicates) and nothing needs to be stored.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from functools import lru_cache

from markupsafe import Markup, escape

FEED_SIZE = 500
PREFIX = "/synthetic/"
_EPOCH = datetime(2025, 9, 1, 6, 0, tzinfo=timezone(timedelta(hours=1)))

# Every template alternates fixed words and slots so no run of five fixed words repeats
# across pages. Slots: S subject, P place, N number, O object (plural), V participle,
# D day, M month, A adjective, Q person.
_LANGS: dict[str, dict[str, list[str]]] = {
    "en": {
        "T": [
            "{S} in {P} said on {D} that {N} {O} would be {V} by {M}.",
            "According to {Q}, {A} {O} in {P} rose to {N} this week.",
            "{Q} told reporters that {S} had {V} {N} {O} since {M}.",
            "In {P}, {N} {A} {O} were {V} after a vote on {D}.",
            "{S} expects {N} more {O} to be {V} before {M}, {Q} added.",
            "Critics in {P} argue that {A} {O} cannot be {V} so quickly.",
        ],
        "S": [
            "the regional council",
            "the port authority",
            "the city hall",
            "the water board",
            "the transport agency",
            "the chamber of commerce",
            "the health service",
            "the university",
            "the fire brigade",
            "the statistics office",
            "the school board",
            "the energy regulator",
        ],
        "P": [
            "Marlow Bay",
            "Eastbridge",
            "Fenwick",
            "Holloway Cross",
            "Kestrel Point",
            "Larkhill",
            "Northmere",
            "Oakvale",
            "Pennard",
            "Redcliffe",
            "Stonehaven",
            "Westleigh",
        ],
        "O": [
            "permits",
            "bus routes",
            "flats",
            "bridges",
            "contracts",
            "school places",
            "solar panels",
            "hospital beds",
            "charging points",
            "tram stops",
            "jobs",
            "grants",
        ],
        "V": [
            "approved",
            "delayed",
            "inspected",
            "renovated",
            "cancelled",
            "funded",
            "reviewed",
            "reopened",
            "audited",
            "extended",
            "replaced",
            "announced",
        ],
        "D": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
        "M": ["January", "March", "April", "June", "August", "October", "December"],
        "A": ["new", "temporary", "public", "unused", "private", "rural", "coastal", "older"],
        "Q": [
            "Mayor Ellen Hart",
            "Councillor Raj Patel",
            "spokesman Tom Ridley",
            "engineer Maria Lowe",
            "director Sam Okafor",
            "analyst Claire Dunn",
        ],
    },
    "fr": {
        "T": [
            "{S} de {P} a indiqué {D} que {N} {O} seraient {V} d'ici {M}.",
            "Selon {Q}, les {O} {A} de {P} ont atteint {N} cette semaine.",
            "{Q} a déclaré que {S} avait {V} {N} {O} depuis {M}.",
            "À {P}, {N} {O} {A} ont été {V} après un vote {D}.",
            "{S} prévoit que {N} autres {O} soient {V} avant {M}, a ajouté {Q}.",
            "À {P}, des opposants estiment que ces {O} {A} ne peuvent être {V} si vite.",
        ],
        "S": [
            "le conseil régional",
            "le port autonome",
            "la mairie",
            "l'agence de l'eau",
            "la régie des transports",
            "la chambre de commerce",
            "l'hôpital",
            "l'université",
            "la préfecture",
            "l'office statistique",
            "le rectorat",
            "le syndicat mixte",
        ],
        "P": [
            "Saint-Aubin",
            "Belleroche",
            "Montclar",
            "Vauréal",
            "Lézignan",
            "Castelmoron",
            "Pontarlier-sur-Loue",
            "Rivesaltes",
            "Beaulieu",
            "Marsanne",
            "Tourville",
            "Valcros",
        ],
        "O": [
            "permis",
            "lignes",
            "logements",
            "ponts",
            "contrats",
            "places",
            "panneaux",
            "lits",
            "bornes",
            "arrêts",
            "emplois",
            "subventions",
        ],
        "V": [
            "approuvés",
            "reportés",
            "inspectés",
            "rénovés",
            "annulés",
            "financés",
            "révisés",
            "rouverts",
            "contrôlés",
            "prolongés",
            "remplacés",
            "annoncés",
        ],
        "D": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
        "M": ["janvier", "mars", "avril", "juin", "août", "octobre", "décembre"],
        "A": ["neufs", "provisoires", "publics", "inutilisés", "privés", "ruraux", "anciens"],
        "Q": [
            "la maire Anne Roussel",
            "l'élu Karim Benali",
            "le porte-parole Luc Fabre",
            "l'ingénieure Inès Moreau",
            "le directeur Paul Vidal",
            "l'analyste Marie Caron",
        ],
    },
    "es": {
        "T": [
            "{S} de {P} anunció el {D} que {N} {O} serán {V} antes de {M}.",
            "Según {Q}, los {O} {A} de {P} llegaron a {N} esta semana.",
            "{Q} explicó que {S} ha {V} {N} {O} desde {M}.",
            "En {P}, {N} {O} {A} fueron {V} tras una votación el {D}.",
            "{S} calcula que otros {N} {O} serán {V} antes de {M}, añadió {Q}.",
            "Vecinos de {P} sostienen que esos {O} {A} no pueden ser {V} tan rápido.",
        ],
        "S": [
            "el consejo comarcal",
            "la autoridad portuaria",
            "el ayuntamiento",
            "la confederación hidrográfica",
            "el consorcio de transportes",
            "la cámara de comercio",
            "el hospital",
            "la universidad",
            "la diputación",
            "el instituto de estadística",
            "la consejería",
            "la mancomunidad",
        ],
        "P": [
            "Villanueva del Río",
            "Alcaraz",
            "Torreblanca",
            "Fuentesaúco",
            "Montilla",
            "Puerto Lápice",
            "Sotillo",
            "Valdemora",
            "Aranda",
            "Benicalap",
            "Cazorla",
            "Olmedo",
        ],
        "O": [
            "permisos",
            "autobuses",
            "pisos",
            "puentes",
            "contratos",
            "plazas",
            "paneles",
            "camas",
            "cargadores",
            "paradas",
            "empleos",
            "subsidios",
        ],
        "V": [
            "aprobados",
            "aplazados",
            "inspeccionados",
            "renovados",
            "cancelados",
            "financiados",
            "revisados",
            "reabiertos",
            "auditados",
            "ampliados",
            "sustituidos",
            "anunciados",
        ],
        "D": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
        "M": ["enero", "marzo", "abril", "junio", "agosto", "octubre", "diciembre"],
        "A": ["nuevos", "provisionales", "públicos", "vacíos", "privados", "rurales", "antiguos"],
        "Q": [
            "la alcaldesa Pilar Ortega",
            "el concejal Andrés Gil",
            "el portavoz Luis Prieto",
            "la ingeniera Nuria Vidal",
            "el director Jaime Soler",
            "la analista Eva Campos",
        ],
    },
    "de": {
        "T": [
            "{S} in {P} teilte am {D} mit, dass bis {M} {N} {O} {V} werden.",
            "Nach Angaben von {Q} stieg die Zahl {A} {O} in {P} auf {N}.",
            "{Q} sagte, {S} habe seit {M} {N} {O} {V}.",
            "In {P} wurden nach einer Abstimmung am {D} {N} {A} {O} {V}.",
            "{S} rechnet bis {M} mit {N} weiteren {O}, die {V} werden, so {Q}.",
            "Kritiker in {P} halten es für unmöglich, {A} {O} so schnell {V}.",
        ],
        "S": [
            "der Kreistag",
            "die Hafenbehörde",
            "das Rathaus",
            "der Wasserverband",
            "der Verkehrsverbund",
            "die Handelskammer",
            "das Klinikum",
            "die Universität",
            "das Landratsamt",
            "das Statistikamt",
            "das Schulamt",
            "die Netzagentur",
        ],
        "P": [
            "Lindenfeld",
            "Obernburg",
            "Hasselbach",
            "Kirchwerder",
            "Mühlhausen-Ost",
            "Rotenbrück",
            "Schwarzach",
            "Tannweiler",
            "Uhlstedt",
            "Waldmohr",
            "Zell am Stein",
            "Eichenau",
        ],
        "O": [
            "Genehmigungen",
            "Buslinien",
            "Wohnungen",
            "Brücken",
            "Verträge",
            "Schulplätze",
            "Solaranlagen",
            "Klinikbetten",
            "Ladesäulen",
            "Haltestellen",
            "Stellen",
            "Zuschüsse",
        ],
        "V": [
            "genehmigt",
            "verschoben",
            "geprüft",
            "saniert",
            "gestrichen",
            "finanziert",
            "überarbeitet",
            "eröffnet",
            "kontrolliert",
            "verlängert",
            "ersetzt",
            "angekündigt",
        ],
        "D": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
        "M": ["Januar", "März", "April", "Juni", "August", "Oktober", "Dezember"],
        "A": ["neuer", "befristeter", "öffentlicher", "leerer", "privater", "ländlicher", "alter"],
        "Q": [
            "Bürgermeisterin Anke Roth",
            "Stadtrat Murat Demir",
            "Sprecher Jonas Keller",
            "Ingenieurin Lea Brandt",
            "Direktor Olaf Wendt",
            "Analystin Petra Haas",
        ],
    },
    "it": {
        "T": [
            "{S} di {P} ha comunicato {D} che {N} {O} saranno {V} entro {M}.",
            "Secondo {Q}, i {O} {A} di {P} sono saliti a {N} questa settimana.",
            "{Q} ha spiegato che {S} ha {V} {N} {O} da {M}.",
            "A {P}, {N} {O} {A} sono stati {V} dopo un voto di {D}.",
            "{S} prevede altri {N} {O} {V} prima di {M}, ha aggiunto {Q}.",
            "A {P} i critici sostengono che quei {O} {A} non possano essere {V} così in fretta.",
        ],
        "S": [
            "il consiglio regionale",
            "l'autorità portuale",
            "il comune",
            "il consorzio idrico",
            "l'azienda dei trasporti",
            "la camera di commercio",
            "l'ospedale",
            "l'università",
            "la prefettura",
            "l'ufficio statistico",
            "il provveditorato",
            "la provincia",
        ],
        "P": [
            "Borgoferro",
            "Castelrotto",
            "Montalbo",
            "Pievenuova",
            "Roccaviva",
            "San Donato",
            "Terralba",
            "Valmorea",
            "Sassonero",
            "Fontebella",
            "Lucinasco",
            "Acquaviva",
        ],
        "O": [
            "permessi",
            "autobus",
            "alloggi",
            "ponti",
            "contratti",
            "posti",
            "pannelli",
            "letti",
            "colonnine",
            "fermate",
            "impieghi",
            "contributi",
        ],
        "V": [
            "approvati",
            "rinviati",
            "ispezionati",
            "ristrutturati",
            "annullati",
            "finanziati",
            "rivisti",
            "riaperti",
            "controllati",
            "prorogati",
            "sostituiti",
            "annunciati",
        ],
        "D": ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"],
        "M": ["gennaio", "marzo", "aprile", "giugno", "agosto", "ottobre", "dicembre"],
        "A": ["nuovi", "provvisori", "pubblici", "inutilizzati", "privati", "rurali", "vecchi"],
        "Q": [
            "la sindaca Giulia Ferri",
            "l'assessore Marco Bellini",
            "il portavoce Luca Neri",
            "l'ingegnera Sara Conti",
            "il direttore Paolo Riva",
            "l'analista Elena Gatti",
        ],
    },
}
LANGUAGES = tuple(_LANGS)


def language_of(index: int) -> str:
    """The language of synthetic page ``index``."""
    return LANGUAGES[index % len(LANGUAGES)]


def published(index: int) -> datetime:
    """The publication time of synthetic page ``index`` (one every seven minutes)."""
    return _EPOCH + timedelta(minutes=7 * index)


def article_path(index: int) -> str:
    """The URL path of synthetic page ``index``."""
    return f"{PREFIX}article/{index}.html"


def feed_path(k: int) -> str:
    """The URL path of synthetic feed ``k`` (items k*500 to k*500+499)."""
    return f"{PREFIX}feed-{k}.xml"


def synthetic_feed_urls(base_url: str, n: int) -> list[str]:
    """The feed URLs that together list ``n`` synthetic articles."""
    base = base_url.rstrip("/")
    return [base + feed_path(k) for k in range((n + FEED_SIZE - 1) // FEED_SIZE)]


def _sentence(rng: random.Random, words: dict[str, list[str]]) -> str:
    template = rng.choice(words["T"])
    values = {key: rng.choice(words[key]) for key in "SPOVDMAQ"}
    values["N"] = str(rng.randint(3, 9800))
    text = template.format(**values)
    return text[0].upper() + text[1:]


def _content(index: int) -> tuple[str, str, list[str]]:
    rng = random.Random(index * 7919 + 17)
    words = _LANGS[language_of(index)]
    target = rng.randint(250, 470)  # one more sentence may follow: stays under 500 words
    paragraphs: list[str] = []
    count = 0
    while count < target:
        sentences: list[str] = []
        for _ in range(rng.randint(2, 4)):
            sentences.append(_sentence(rng, words))
            count += len(sentences[-1].split())
            if count >= target:
                break
        paragraphs.append(" ".join(sentences))
    subject = rng.choice(words["S"])
    place, topic = rng.choice(words["P"]), rng.choice(words["O"])
    title = f"{subject[0].upper()}{subject[1:]}, {place}: {topic} #{index}"
    author = rng.choice(words["Q"]).split(" ", 1)[1]
    return title, author, paragraphs


@lru_cache(maxsize=4096)
def page(base_url: str, index: int) -> bytes:
    """The HTML of synthetic page ``index`` with ordinary news-site boilerplate."""
    base = base_url.rstrip("/")
    title, author, paragraphs = _content(index)
    lang = language_of(index)
    when = published(index).isoformat(timespec="seconds")
    url = base + article_path(index)
    body = Markup("").join(Markup("<p>{}</p>\n").format(p) for p in paragraphs)
    related = Markup("").join(
        Markup('<li><a href="{}">{}</a></li>').format(base + article_path(j), f"Dossier {j}")
        for j in (index + 1, index + 2, index + 3)
    )
    html = Markup(
        '<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">\n'
        "<title>{title} | Synthetic Daily</title>\n"
        '<link rel="canonical" href="{url}">\n'
        '<meta property="og:title" content="{title}">\n'
        '<meta property="og:site_name" content="Synthetic Daily">\n'
        '<meta property="article:published_time" content="{when}">\n'
        '<meta name="author" content="{author}">\n'
        "</head><body>\n"
        '<div class="cookie">We use cookies to measure our audience. <button>OK</button></div>\n'
        '<nav><a href="/">Home</a> <a href="/synthetic/">Region</a> '
        '<a href="/synthetic/">Sport</a> <a href="/synthetic/">Weather</a></nav>\n'
        "<main><article><h1>{title}</h1>\n"
        '<p class="byline">{author} - <time datetime="{when}">{when}</time></p>\n'
        "{body}</article>\n"
        "<aside><h2>Related</h2><ul>{related}</ul></aside>\n"
        '<section class="comments"><h2>2 comments</h2>'
        '<div class="comment">Interesting, thanks.</div>'
        '<div class="comment">When will this be decided?</div></section></main>\n'
        "<footer>Synthetic Daily - generated for the polynews ingest benchmark</footer>\n"
        "</body></html>\n"
    ).format(lang=lang, title=title, url=url, when=when, author=author, body=body, related=related)
    return str(html).encode("utf-8")


@lru_cache(maxsize=64)
def feed(base_url: str, k: int, n: int) -> bytes:
    """RSS 2.0 feed ``k`` listing synthetic articles k*500 .. min(n, k*500+500) - 1."""
    base = base_url.rstrip("/")
    items = []
    for index in range(k * FEED_SIZE, min(n, (k + 1) * FEED_SIZE)):
        title, author, _ = _content(index)
        url = base + article_path(index)
        items.append(
            str(
                Markup(
                    "<item><title>{}</title><link>{}</link><guid>{}</guid><pubDate>{}</pubDate>"
                    "<author>{}</author></item>\n"
                ).format(title, url, url, format_datetime(published(index)), author)
            )
        )
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>\n'
        f"<title>Synthetic Daily {k}</title><link>{escape(base)}/synthetic/</link>"
        "<description>Generated articles for the ingest benchmark</description>\n"
    )
    return (head + "".join(items) + "</channel></rss>\n").encode("utf-8")


__all__ = [
    "FEED_SIZE",
    "LANGUAGES",
    "feed",
    "language_of",
    "page",
    "published",
    "synthetic_feed_urls",
]
