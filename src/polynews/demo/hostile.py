"""The hostile sources of the demo: what each one sends, kept apart from the server plumbing.

Static bodies are built here; the streamed ones (huge, slow) are generators the server
drains into the socket, so nothing large is ever stored or held in memory.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.utils import format_datetime

from polynews.demo.corpus import (
    BAD_ENCODING,
    BAD_ENCODING_TITLE,
    BINARY_PAGE,
    BROKEN_FEED,
    BROKEN_FEED_ENTRY,
    CONTROL_CHARS_FEED,
    COPYCAT_PAGE,
    DEEP_JSON_FEED,
    ENTITY_BOMB,
    GONE_404,
    GONE_410,
    GONE_FEED,
    HUGE_FEED,
    HUGE_FEED_ENTRIES,
    HUGE_FEED_PREFIX,
    copycat_target,
)

JAVASCRIPT_TARGET = "javascript:alert(document.domain)"
DEEP_JSON_DEPTH = 100_000
HUGE_BYTES = 6 * 1024 * 1024  # over the 5 MB default cap (max_body_bytes)
HUGE_CHUNK = 64 * 1024
SLOW_SECONDS = 60  # one byte per second, then the connection is closed
RETRY_AFTER_SECONDS = 2


def broken_feed(base: str) -> bytes:
    """An RSS feed cut off in the middle of an item, with an unescaped ampersand."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n<channel>\n'
        "<title>Regional Digest</title>\n"
        f"<link>{base}/hostile/</link>\n"
        "<description>Local news & more</description>\n"
        "<item>\n<title>Council approves the budget & the bridge <b>repairs</title>\n"
        f"<link>{base}{BROKEN_FEED_ENTRY}</link>\n"
        "<description>The council voted on Tuesday to appro"
    ).encode()


def entity_bomb() -> bytes:
    """A "billion laughs" feed: under 1 KB on disk, about 3 GB once the entities expand."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<!DOCTYPE rss [", '  <!ENTITY lol0 "lol">']
    for level in range(1, 10):
        refs = f"&lol{level - 1};" * 10
        lines.append(f'  <!ENTITY lol{level} "{refs}">')
    lines += [
        "]>",
        '<rss version="2.0"><channel><title>Laughing Matters</title>',
        "<link>http://127.0.0.1/</link><description>&lol9;</description>",
        "<item><title>&lol9;</title><link>http://127.0.0.1/lol.html</link></item>",
        "</channel></rss>",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


def binary_blob() -> bytes:
    """Deterministic random bytes behind a PNG signature (served as text/html)."""
    return b"\x89PNG\r\n\x1a\n" + random.Random(1729).randbytes(8192)


def gone_feed(base: str) -> bytes:
    """A valid RSS feed whose two entries answer 404 and 410."""
    when = format_datetime(datetime.fromisoformat("2025-10-29T09:00:00+00:00"))
    items = [
        (GONE_404, "Mayor's statement on the harbour fees (withdrawn)"),
        (GONE_410, "Live: ferry timetable changes (expired)"),
    ]
    body = "".join(
        f"<item><title>{title.replace('&', '&amp;')}</title><link>{base}{path}</link>"
        f"<guid>{base}{path}</guid><pubDate>{when}</pubDate></item>\n"
        for path, title in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>\n'
        f"<title>Coastline Bulletin</title><link>{base}/hostile/gone/</link>"
        "<description>Entries that no longer exist</description><language>en</language>\n"
        f"{body}</channel></rss>\n"
    ).encode()


def small_feed(base: str, token: str) -> bytes:
    """The feed a rate-limited endpoint finally serves once it stops answering 429."""
    when = format_datetime(datetime.fromisoformat("2025-10-30T07:00:00+00:00"))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>\n'
        f"<title>Patient Wire {token}</title><link>{base}/</link>"
        "<description>Served after 429s</description>\n"
        f"<item><title>Tide tables for the week</title><link>{base}/harbour-courier/</link>"
        f"<pubDate>{when}</pubDate></item>\n</channel></rss>\n"
    ).encode()


LATIN1_PARAGRAPHS = (
    "Le marché d'automne des quais quittera la place du Château pour s'installer près de "
    "l'écluse à partir du samedi 8 novembre, a annoncé jeudi la mairie.",
    "Les travaux de réfection des pavés, prévus jusqu'à la mi-décembre, empêchent les "
    "étals de s'installer à leur place habituelle. Près de 60 exposants sont concernés, "
    "dont une vingtaine de maraîchers et trois fromagers.",
    "« Ce déménagement est provisoire, mais nous avons voulu garder le marché au bord de "
    "l'eau », a expliqué l'adjointe chargée du commerce, Hélène Marchais. Une navette "
    "gratuite reliera la gare et l'écluse toutes les vingt minutes le samedi matin.",
    "Les commerçants de la place du Château, eux, craignent une baisse de fréquentation. "
    "Leur association réclame une signalétique plus visible et des places de "
    "stationnement réservées aux livraisons.",
)


def latin1_page() -> bytes:
    """A French article that declares UTF-8 but is encoded in Latin-1."""
    paragraphs = "".join(f"<p>{p}</p>\n" for p in LATIN1_PARAGRAPHS)
    page = (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">\n'
        f"<title>{BAD_ENCODING_TITLE} - Le Petit Écho des Quais</title>\n"
        '<meta property="og:site_name" content="Le Petit Écho des Quais">\n'
        '<meta property="article:published_time" content="2025-10-30T08:15:00+01:00">\n'
        '</head><body><header><nav><a href="/">Accueil</a> | Ville | Sports | Agenda</nav>'
        "</header>\n"
        f'<article><h1>{BAD_ENCODING_TITLE}</h1>\n<p class="auteur">Par Gérard Lemaître</p>\n'
        f"{paragraphs}</article>\n"
        "<footer>© Le Petit Écho des Quais - Mentions légales</footer></body></html>\n"
    )
    return page.encode("latin-1")


def control_chars_feed(base: str) -> bytes:
    """An RSS feed whose text holds a lone surrogate and control characters, written both
    as character references and (a C0 control) raw; its one entry is a known article."""
    when = format_datetime(datetime.fromisoformat("2025-11-04T10:00:00+00:00"))
    link = copycat_target(base) + "?utm_source=control-chars"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>\n'
        "<title>Static &#xD800; Wire &#x1;</title>"
        f"<link>{base}/hostile/</link><description>Noise\x01 &#xDFFF; &#x7F; &#x8;</description>\n"
        f"<item><title>Rail strike &#xD800;&#xDC00; update &#x0B;</title><link>{link}</link>"
        f"<description>text \x02 &#x1F;</description><pubDate>{when}</pubDate></item>\n"
        "</channel></rss>\n"
    ).encode()


def deep_json_feed(depth: int = DEEP_JSON_DEPTH) -> bytes:
    """A JSON Feed whose items are arrays nested ``depth`` deep (about 200 KB)."""
    return (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "Abyss", "items": '
        + b"[" * depth
        + b"]" * depth
        + b"}"
    )


COPYCAT_TITLE = "Rail operators reach deal as strike is called off"
COPYCAT_PARAGRAPHS = (
    "Rail operators and the drivers' unions reached a late-night agreement on Monday, "
    "according to a statement published by a group calling itself the Continental Rail "
    "Desk, which says the strike planned for Tuesday has been called off.",
    "The statement gives no figures and names no negotiator. None of the unions involved "
    "has confirmed it, and the operators' own travel notices still announce cancellations "
    "on most cross-border high-speed lines.",
    "Passengers are advised by the same statement to travel as planned, advice that the "
    "operators' customer services contradicted when asked on Monday evening.",
)


def copycat_page(base: str) -> bytes:
    """A page with its own (false) story that claims a real article's URL as its canonical,
    and an earlier date, so that it would win dedup if its canonical were believed."""
    paragraphs = "".join(f"<p>{p}</p>\n" for p in COPYCAT_PARAGRAPHS)
    target = copycat_target(base)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{COPYCAT_TITLE}</title>\n"
        f'<link rel="canonical" href="{target}">\n<meta property="og:url" content="{target}">\n'
        '<meta property="og:site_name" content="Continental Rail Desk">\n'
        '<meta property="article:published_time" content="2025-11-03T22:00:00+00:00">\n'
        f"</head><body><article><h1>{COPYCAT_TITLE}</h1>\n{paragraphs}</article>"
        "</body></html>\n"
    ).encode()


def huge_feed(base: str, n: int = HUGE_FEED_ENTRIES) -> bytes:
    """An RSS feed of ``n`` entries, newest first, whose links all answer 404."""
    start = datetime.fromisoformat("2025-11-05T00:00:00+00:00")
    items = "".join(
        f"<item><title>Bulletin {i}</title><link>{base}{HUGE_FEED_PREFIX}{i}.html</link>"
        f"<pubDate>{format_datetime(start - timedelta(minutes=i))}</pubDate></item>\n"
        for i in range(n)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>\n'
        f"<title>Firehose Bulletins</title><link>{base}/hostile/</link>"
        f"<description>Far too many entries</description>\n{items}</channel></rss>\n"
    ).encode()


def static_bodies(base: str) -> dict[str, tuple[str, bytes]]:
    """Path -> (content type, body) for every hostile endpoint with a fixed answer."""
    html_type = "text/html; charset=utf-8"
    return {
        BROKEN_FEED: ("application/rss+xml; charset=utf-8", broken_feed(base)),
        ENTITY_BOMB: ("application/rss+xml; charset=utf-8", entity_bomb()),
        BINARY_PAGE: (html_type, binary_blob()),
        GONE_FEED: ("application/rss+xml; charset=utf-8", gone_feed(base)),
        BAD_ENCODING: (html_type, latin1_page()),
        CONTROL_CHARS_FEED: ("application/rss+xml; charset=utf-8", control_chars_feed(base)),
        DEEP_JSON_FEED: ("application/feed+json", deep_json_feed()),
        COPYCAT_PAGE: (html_type, copycat_page(base)),
        HUGE_FEED: ("application/rss+xml; charset=utf-8", huge_feed(base)),
    }


def huge_chunks() -> Iterator[bytes]:
    """A page of HUGE_BYTES in HUGE_CHUNK pieces, generated as it is sent."""
    head = (
        b'<!DOCTYPE html><html lang="en"><head><title>Endless minutes</title></head><body><article>'
    )
    yield head
    line = b"<p>The committee resumed its reading of the minutes, item by item, line by line.</p>\n"
    chunk = line * (HUGE_CHUNK // len(line))
    sent = len(head)
    while sent < HUGE_BYTES:
        yield chunk
        sent += len(chunk)
    yield b"</article></body></html>"


SLOW_BODY = b"<!DOCTYPE html><html><head><title>Still loading</title></head><body><p>" + b"." * 200


__all__ = [
    "COPYCAT_PARAGRAPHS",
    "COPYCAT_TITLE",
    "DEEP_JSON_DEPTH",
    "HUGE_BYTES",
    "JAVASCRIPT_TARGET",
    "RETRY_AFTER_SECONDS",
    "SLOW_BODY",
    "SLOW_SECONDS",
    "binary_blob",
    "broken_feed",
    "control_chars_feed",
    "copycat_page",
    "deep_json_feed",
    "entity_bomb",
    "gone_feed",
    "huge_chunks",
    "huge_feed",
    "latin1_page",
    "small_feed",
    "static_bodies",
]
