"""Page furniture: what surrounds an article's body, found and removed before extraction.

What trafilatura would delete anyway (navigation, footers, asides, the head) goes first,
in one pass. Comment threads, subscription boxes, tag lists, kickers, bylines and
related-article boxes go by the words of their class and id (in the languages the sites
we follow use), each kind within a size limit so that content borrowing the name stays;
a paywall mark among the article's own paragraphs is body text, not a box. Layout tables
become plain blocks, and a body cut into same-class chunks becomes one container. After
extraction, the headline, kicker, byline and dateline trafilatura keeps at the body's top
are trimmed, as the title, author and date are shown on their own.
"""

from __future__ import annotations

import functools
import itertools
import re

import lxml.etree  # type: ignore[import-untyped]  # lxml ships no type hints
import lxml.html  # type: ignore[import-untyped]
from trafilatura.settings import MANUALLY_CLEANED

Furniture = list[tuple[lxml.html.HtmlElement, str]]
"""Elements whose class or id names a kind of page furniture, with that kind."""

# Where a headline, kicker and byline can sit at the top of the body, and their sizes.
_TOP_LINES = 4


_MAX_KICKER_WORDS = 6


_MAX_BYLINE_WORDS = 12


# A dateline: a year, a numeric date or a time of day, and at most a month and a zone.
_DATE_TOKEN = re.compile(r"\b(?:1[89]|20)\d\d\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b|\b\d{1,2}:\d\d\b")


_MAX_DATELINE_WORDS = 8


_MAX_DATELINE_LETTERS = 3


_SENTENCE_ENDS = (".", "!", "?", "…", ":", '"', "»", "”", "“")


_LINKS = lxml.etree.XPath("//a[@href]")


# What squash() drops: \W is exactly "not str.isalnum()" but for the underscore.
_NOT_ALNUM = re.compile(r"[\W_]+")


# Consecutive lines that are each one link's whole text, from which on they are a list of
# other articles rather than the article.
_MIN_LINK_RUN = 2


# The longest line taken for a link's text: a headline, not a paragraph of the body.
_MAX_LINK_LINE_CHARS = 300


# The most words of a label above such a list ("You may also like...", "Top stories").
_MAX_LABEL_WORDS = 5


# Share of the body's text that must remain once the link lists are gone.
_MIN_KEPT_SHARE = 0.5


# What introduces a link to another article in the body, in the site's languages (and
# Russian), before a colon, a dash or a guillemet; the whole line may be in brackets.
_POINTER = re.compile(
    r"^[(\[]?(?:related|read more|read also|also read|see also|see more|more|also|watch|listen"
    r"|lee también|lea también|leer más|ver también|véase también|mehr zum thema|lesen sie auch"
    r"|auch interessant|siehe auch|lire aussi|à lire aussi|voir aussi|à voir aussi|leggi anche"
    r"|leggi|vedi anche|guarda anche|читайте також|дивіться також|читайте также|смотрите также)"
    r"\s*[:\-–—|»]\s*(.+?)[)\]]?$",
    re.IGNORECASE,
)


# The fewest letters and digits for a cut description to be matched by its beginning.
_MIN_SUMMARY_CHARS = 40


# What trafilatura deletes with its whole content before it looks for the body (its
# MANUALLY_CLEANED list), but for the elements it may keep: a form holding most of the
# text, a figure holding a table, math it salvages as text. Half the elements of a typical
# news page sit in these (navigation, footers, asides, the head, icons); deleting them
# once, here, spares trafilatura's copies and regular-expression XPaths from reading them.
_DISCARDED_TAGS = tuple(tag for tag in MANUALLY_CLEANED if tag not in ("form", "figure", "math"))


def strip_discarded(tree: lxml.html.HtmlElement) -> None:
    """Delete the elements trafilatura would delete anyway (their tails stay).

    As trafilatura does in recall mode, a page whose every paragraph sits in such an
    element keeps them all.
    """
    paragraphs = iter(tree.iter("p"))
    first = next(paragraphs, None)
    if first is not None and all(
        next(p.iterancestors(*_DISCARDED_TAGS), None) is not None
        for p in itertools.chain((first,), paragraphs)
    ):
        return
    lxml.etree.strip_elements(tree, *_DISCARDED_TAGS, with_tail=False)


# Elements whose content the HTML parser keeps as raw text, real tags included. Once they
# are gone every text node left is text the page meant as text (which may quote markup,
# escaped in the source: that is content, and it is escaped again on output).
_RAW_TEXT_TAGS = (
    "script", "style", "textarea", "xmp", "plaintext", "noembed", "noframes", "iframe", "title",
)  # fmt: skip


_TABLE_PARTS = frozenset({"tbody", "thead", "tfoot", "tr", "td", "th", "caption", "colgroup"})


# A table holding headings, other tables or cells of several paragraphs lays a page out;
# read as a data table, its whole content would come out as one glued row.
_LAYOUT_TABLE = lxml.etree.XPath(
    "boolean(.//table or .//h1 or .//h2 or .//h3 or .//article"
    " or .//*[self::td or self::th][count(.//p) > 1])"
)


_HINTED = lxml.etree.XPath("//*[@class or @id]")


# The order in which _furniture_kind tests the kinds; no kind comes last.
_KIND_ORDER: dict[str | None, int] = {
    kind: rank
    for rank, kind in enumerate(
        ("comments", "promo", "gate", "related", "footer", "tags", "kicker", "byline", None)
    )
}


_HINT_WORD = re.compile(r"[a-z0-9]+")


# Page furniture by the words of its class and id, in the languages the demo's outlets
# (and most of the web) name them in. Substrings for the unambiguous stems, whole words
# for short ones ("tag" is inside "stage", "autor" inside "autorun").
_COMMENTS_HINT = re.compile(r"comment(?!ary)|comentari|kommentar|komentar|reactions|opiniones")


_PROMO_HINT = re.compile(r"subscri|abonn|abbona|suscri|newsletter|peredplat|podpisk")


# Marks of gated text: on a box with a form or button it is the wall's prompt, but several
# large publishers put it on the article's own paragraphs (what lies behind the wall).
_GATE_HINT = re.compile(r"paywall|paid-?content|premium-?content|bezahl")


# Related-article boxes; dropped only when mostly links, as "read more" also names bodies.
_RELATED_HINT = re.compile(
    r"related|relacionad|correlat|leer-?mas|lea-?tambien|voir-?aussi|lire-?aussi"
    r"|leggi-?anche|mehr-?zum-?thema|see-?also|read-?more|more-?stories"
)


_CONTAINER_WORDS = frozenset(
    {"list", "box", "wrap", "wrapper", "container", "block", "area", "links", "line", "cloud"}
)


_FOOTER_WORDS = frozenset({"footer", "pie", "piede", "pied", "fuss", "fusszeile", "podval"})


_TAG_WORDS = frozenset(
    {"tag", "tags", "taglist", "keywords", "schlagworte", "stichworte", "etiquetas", "etichette"}
)


_KICKER_WORDS = frozenset(
    {"kicker", "occhiello", "dachzeile", "overline", "eyebrow", "surtitre", "antetitulo"}
)


_BYLINE_WORDS = frozenset(
    {
        "byline", "author", "authors", "autore", "autori", "autor", "autoren", "auteur",
        "auteurs", "autorenzeile", "verfasser", "avtor", "firma", "signature",
    }
)  # fmt: skip


# Any of the above, as a quick first test: most class and id values name none of them.
_ANY_HINT = re.compile(
    "|".join(
        (
            _COMMENTS_HINT.pattern,
            _PROMO_HINT.pattern,
            _GATE_HINT.pattern,
            _RELATED_HINT.pattern,
            *sorted(_FOOTER_WORDS | _TAG_WORDS | _KICKER_WORDS | _BYLINE_WORDS),
        )
    )
)


# Most words each kind of box holds; a longer element is content that borrowed the name.
_MAX_WORDS = {"promo": 80, "gate": 80, "tags": 40, "kicker": 8, "byline": 25, "footer": 80}


# Share of a related box's text that is link text.
_MIN_RELATED_LINK_SHARE = 0.5


# An element holding the headline or this share of the page's text is the article's
# wrapper, whatever its class says ("post comments-open").
_MAX_PRUNED_SHARE = 0.5


_HAS_HEADLINE = lxml.etree.XPath("boolean(.//h1)")


_HAS_CONTROL = lxml.etree.XPath(
    "boolean(descendant-or-self::*[self::form or self::button or self::input or self::select])"
)


# A paragraph of the article: a sentence at least.
_MIN_BODY_PARAGRAPH_WORDS = 12


# A body chunk holds at least this many such paragraphs (a caption or a quote holds one).
_MIN_CHUNK_PARAGRAPHS = 2


# A javascript: link around a sentence or more is text with a click handler, not a link.
_MIN_LINKED_TEXT_WORDS = 8


# Browsers ignore case and strip tabs and line breaks in a URL's scheme; so does this.
_SCRIPT_LINKS = lxml.etree.XPath(
    "//a[starts-with(translate(@href, 'JAVSCRIPT \t\r\n', 'javscript'), 'javascript:')]"
)


def find_furniture(tree: lxml.html.HtmlElement) -> Furniture:
    """Every element whose class or id names a kind of page furniture, with that kind."""
    kinds: dict[tuple[str | None, str | None], str | None] = {}  # pages repeat their classes
    found = []
    for element in _HINTED(tree):
        key = (element.get("class"), element.get("id"))
        if key in kinds:
            kind = kinds[key]
        else:
            tokens = f"{key[0] or ''} {key[1] or ''}".lower().split()
            kind = kinds[key] = min(
                map(_token_kind, tokens), key=_KIND_ORDER.__getitem__, default=None
            )
        if kind is not None:
            found.append((element, kind))
    return found


@functools.lru_cache(maxsize=16384)
def _token_kind(token: str) -> str | None:
    """The kind of furniture one class or id token names, if any.

    Each test of :func:`_furniture_kind` asks whether any token of the value passes it,
    so a value's kind is its tokens' first kind in that order; tokens ("row",
    "container") repeat across pages, and each is read once per process.
    """
    return _furniture_kind(token) if _ANY_HINT.search(token) else None


def prune(tree: lxml.html.HtmlElement, furniture: Furniture) -> None:
    """Prepare the tree for trafilatura, in place: what it should read, and as what.

    Raw-text elements go; layout tables become plain blocks; comment threads, in-article
    subscription boxes, tag lists, kickers and bylines go by their class and id words;
    long javascript: links become the text they wrap.
    """
    lxml.etree.strip_elements(tree, *_RAW_TEXT_TAGS, with_tail=False)
    for table in list(tree.iter("table")):
        if (table.get("role") or "").lower() in ("presentation", "none") or _LAYOUT_TABLE(table):
            _untable(table)
    page_chars = 0
    for element, kind in furniture:
        if element.getparent() is None or element.tag in ("html", "body"):
            continue
        text = element.text_content()
        if kind == "related" and _linked_chars(element) < _MIN_RELATED_LINK_SHARE * len(text):
            continue
        if kind == "gate" and _in_body(element):
            continue
        limit = _MAX_WORDS.get(kind)
        if limit is not None and len(text.split()) > limit:
            continue
        if limit is None:
            page_chars = page_chars or len(tree.text_content())
            if len(text) > _MAX_PRUNED_SHARE * page_chars or _HAS_HEADLINE(element):
                continue
        element.drop_tree()
    for link in _SCRIPT_LINKS(tree):
        if len(link.text_content().split()) >= _MIN_LINKED_TEXT_WORDS:
            link.drop_tag()
    _join_chunks(tree)


def _join_chunks(tree: lxml.html.HtmlElement) -> None:
    """Make one container of an article body the page splits into same-class chunks.

    Some layouts cut the body into several containers of one class, with an advert or a
    quote between them; trafilatura reads the first container that looks like a body,
    that is the first chunk. The chunks' nearest common ancestor takes their class (and
    they lose it), so the whole body is read, in page order.
    """
    counts: dict[lxml.html.HtmlElement, int] = {}
    for paragraph in tree.iter("p"):
        parent = paragraph.getparent()
        if parent is None or parent.tag not in ("div", "section") or not parent.get("class"):
            continue
        if len(paragraph.text_content().split()) >= _MIN_BODY_PARAGRAPH_WORDS:
            counts[parent] = counts.get(parent, 0) + 1
    groups: dict[tuple[str, str], list[lxml.html.HtmlElement]] = {}
    for element, count in counts.items():
        if count >= _MIN_CHUNK_PARAGRAPHS:
            groups.setdefault((element.tag, element.get("class") or ""), []).append(element)
    for (_tag, name), chunks in groups.items():
        if len(chunks) < 2:
            continue
        lines = [[chunk, *chunk.iterancestors()] for chunk in chunks]
        shared = set(lines[1]).intersection(*lines[2:])
        common = next((node for node in lines[0] if node in shared), None)
        if common is None or common in chunks or common.tag in ("html", "body"):
            continue  # nested chunks, or a whole page of them (an index)
        common.set("class", name)
        for chunk in chunks:
            del chunk.attrib["class"]


def _in_body(element: lxml.html.HtmlElement) -> bool:
    """Whether an element sits among the article's paragraphs and asks nothing of the reader.

    A paragraph of a sentence or more next to it (before or after) places it in the body;
    a form, a button or an input makes it a prompt, wherever it is.
    """
    if _HAS_CONTROL(element):
        return False
    neighbours = (element.getprevious(), element.getnext())
    return any(
        node is not None
        and node.tag == "p"
        and len(node.text_content().split()) >= _MIN_BODY_PARAGRAPH_WORDS
        for node in neighbours
    )


def _untable(table: lxml.html.HtmlElement) -> None:
    """Turn a layout table and its rows and cells (not nested tables) into divs."""
    stack = [table]
    while stack:
        element = stack.pop()
        element.tag = "div"
        stack.extend(child for child in element if child.tag in _TABLE_PARTS)


def _linked_chars(element: lxml.html.HtmlElement) -> int:
    return sum(len(link.text_content()) for link in element.iter("a"))


def _hint_name(token: str) -> str:
    """What one class or id token names: its last word, before any container word.

    "entry-tags" and "tags-list" name tags; "tag-economy" (a WordPress post class) names
    a topic, and "author-1" a number.
    """
    words = _HINT_WORD.findall(token)
    while len(words) > 1 and words[-1] in _CONTAINER_WORDS:
        words.pop()
    return words[-1] if words else ""


def _furniture_kind(hint: str) -> str | None:
    """Which kind of page furniture a (lower-cased) class and id value names, if any."""
    if _COMMENTS_HINT.search(hint):
        return "comments"
    if _PROMO_HINT.search(hint):
        return "promo"
    if _GATE_HINT.search(hint):
        return "gate"
    if _RELATED_HINT.search(hint):
        return "related"
    named = {_hint_name(token) for token in hint.split()}
    if named & _FOOTER_WORDS:
        return "footer"
    if named & _TAG_WORDS:
        return "tags"
    if named & _KICKER_WORDS:
        return "kicker"
    if named & _BYLINE_WORDS:
        return "byline"
    return None


def link_texts(tree: lxml.html.HtmlElement) -> set[str]:
    """The text of every link in the tree (squashed), for :func:`drop_link_runs`."""
    # Most links hold their text alone; text_content() is an XPath call per link.
    texts = {link.text_content() if len(link) else link.text or "" for link in _LINKS(tree)}
    found = {squash(text) for text in texts}
    found.discard("")
    return found


def drop_link_runs(paragraphs: list[str], links: set[str]) -> list[str]:
    """Drop pointers to other articles: runs of lines that are each one link, "Read more: <link>".

    Lists of other articles survive trafilatura inside the body's container ("You may
    also like", a closing "More from ..." list). A lone linked line may be part of the
    text (a product, a source), but on the extraction benchmark two or more in a row
    were a list of other articles every time (24 of 24 lines), and so is a labelled one
    that ends the body. A label right above such a run goes with it; a body that would
    lose half its text keeps everything. A line
    that is a pointer's label and a link ("Related: ...", "Leggi anche: ...") goes
    wherever it is (12 of 12 on the benchmark).
    """
    flags = [len(line) <= _MAX_LINK_LINE_CHARS and squash(line) in links for line in paragraphs]
    dropped = {i for i, line in enumerate(paragraphs) if _is_pointer(line, links)}
    for linked, run in itertools.groupby(range(len(paragraphs)), key=flags.__getitem__):
        members = list(run)
        label = members[0] - 1
        labelled = label >= 0 and _is_label(paragraphs[label])
        # At the body's end, a label makes even one linked line a list ("More stories").
        closing = labelled and members[-1] == len(paragraphs) - 1
        if linked and (len(members) >= _MIN_LINK_RUN or closing):
            dropped.update((label, *members) if labelled else members)
    if not dropped:
        return paragraphs
    kept = [line for i, line in enumerate(paragraphs) if i not in dropped]
    if sum(map(len, kept)) < _MIN_KEPT_SHARE * sum(map(len, paragraphs)):
        return paragraphs
    return kept


def drop_standfirst(
    paragraphs: list[str], tree: lxml.html.HtmlElement, description: str | None
) -> list[str]:
    """Drop a standfirst from the body's top: the page's description, set as a heading.

    Many outlets put a summary under the headline, in an <h2> or <h3> of the headline's
    block; trafilatura keeps it when that block sits in the article's container. It is
    the page's description again (the metadata and feeds carry it), not the body's first
    paragraph, which a description often repeats too: that one sits among the body's
    paragraphs, so a heading beside a paragraph of the body stays.
    """
    if len(paragraphs) < 2 or not description:
        return paragraphs
    first = squash(paragraphs[0])
    if not _same_summary(first, squash(description)):
        return paragraphs
    for heading in tree.iter("h2", "h3", "h4", "h5", "h6"):
        if squash(heading.text_content()) != first:
            continue
        parent = heading.getparent()
        if parent is not None and not any(
            len(p.text_content().split()) >= _MIN_BODY_PARAGRAPH_WORDS for p in parent.iter("p")
        ):
            return paragraphs[1:]
    return paragraphs


def _same_summary(line: str, summary: str) -> bool:
    """Whether two squashed texts are one summary (a description may be cut short)."""
    if not line or not summary:
        return False
    if line == summary:
        return True
    shorter, longer = sorted((line, summary), key=len)
    # A cut description ends in a broken word: three characters of slack.
    return len(shorter) >= _MIN_SUMMARY_CHARS and longer.startswith(shorter[:-3])


def _is_pointer(line: str, links: set[str]) -> bool:
    """ "Read more: <link>": a pointer's label, then nothing but one link's text."""
    found = _POINTER.match(line)
    return found is not None and squash(found.group(1)) in links


def _is_label(line: str) -> bool:
    """A heading-like line: a few words, no sentence ending but a colon or an ellipsis."""
    words = line.split()
    if len(words) > _MAX_LABEL_WORDS:
        return False
    return line.endswith((":", "...", "…")) or not line.endswith(_SENTENCE_ENDS)


def is_dateline(line: str) -> bool:
    """A line that is only a date or time ("October 12, 2017", "20.11.2019 - 11:28")."""
    words = line.split()
    if len(words) > _MAX_DATELINE_WORDS or not _DATE_TOKEN.search(line):
        return False
    return sum(1 for word in words if any(ch.isalpha() for ch in word)) <= _MAX_DATELINE_LETTERS


def trim_furniture(paragraphs: list[str], headlines: set[str], author: str | None) -> list[str]:
    """Drop the headline, a kicker above it and a byline below it from the body's top.

    trafilatura keeps those when they sit in the article's container; the title and
    author are shown on their own.
    """
    top = paragraphs[:_TOP_LINES]
    longest = max(map(len, headlines), default=0)
    # A line much longer than every headline cannot squash into one: skip the work.
    heads = [
        i for i, line in enumerate(top) if len(line) < 2 * longest and squash(line) in headlines
    ]
    dropped: set[int] = set(heads)
    start = heads[-1] + 1 if heads else 0
    # Short lines above the headline are its kicker ("Politics", "Cronaca").
    if heads and all(len(line.split()) <= _MAX_KICKER_WORDS for line in top[: heads[-1]]):
        dropped.update(range(start))
    name = squash(author) if author else ""
    for i in range(start, min(start + _TOP_LINES, len(paragraphs))):
        line = paragraphs[i]
        if i in dropped:
            continue
        if len(line.split()) > _MAX_BYLINE_WORDS:
            break
        # "di Francesca Lodi", "Tomás Iglesias - 31.10.2025": not a sentence naming them.
        byline = bool(name) and name in squash(line) and not line.endswith(_SENTENCE_ENDS)
        if byline or is_dateline(line):
            dropped.add(i)
    kept = [line for i, line in enumerate(paragraphs) if i not in dropped]
    return kept or paragraphs


def squash(text: str) -> str:
    """The letters and digits of ``text``, lower-cased: how headlines and names compare."""
    return _NOT_ALNUM.sub("", text.casefold())


__all__ = [
    "Furniture",
    "drop_link_runs",
    "drop_standfirst",
    "find_furniture",
    "is_dateline",
    "link_texts",
    "prune",
    "squash",
    "strip_discarded",
    "trim_furniture",
]
