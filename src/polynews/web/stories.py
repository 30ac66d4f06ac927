"""What the site shows of a story: headline, coverage, members, claims, conflicts and rank.

**Rank of the top stories** (home page): among surviving stories with at least two
published articles, each scores ``(outlets + languages) × 2 ** (-age / 24 h)``, where
``age`` is the time from the story's latest report to the newest article on the site
(not the wall clock, so a quiet site or a static export ranks the same way whenever it
is rendered). Coverage counts distinct outlets and distinct languages; a story loses
half its weight for each day without a new report. Ties go to the latest report.

**Claims in the reader's language.** Claims are extracted from the original text, so a
claim's sentence has a translation only through its article's translation, which keeps
paragraphs one for one: the sentence's paragraph is split into sentences in both
languages, and when both have the same number of sentences the one in the same place is
the translation. Otherwise the original sentence is shown, with its language marked;
nothing is guessed.

**Conflicting figures**: quantities with the same unit and different values, stated by
different sources (the outlet stands in for a claim that names nobody), are grouped
side by side. Units are compared by their canonical key
(:func:`polynews.stories.units.unit_key`), so "10 000 tonnes" and "12 000 Tonnen" are
two figures for one quantity. Within one unit, values are sorted and a gap of more
than a factor of ``SAME_QUANTITY_RATIO`` between neighbours starts another quantity:
"2.3 million tonnes" shipped in a month and "up to 12 000 tonnes" a barge carries are
not the same figure told twice, while "600" and "450 firefighters" are.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from polynews.store import site_queries as queries
from polynews.store import story_views as store
from polynews.store.site_queries import ListItem
from polynews.store.story_views import ArticleText, ClaimRow, Member, StoryStats
from polynews.stories.units import unit_key
from polynews.translate.memory import normalise_source
from polynews.translate.sentences import split_sentences
from polynews.web import links as paths

TOP_STORIES = 6
"""Stories in the home page's top section."""
HALF_LIFE_HOURS = 24.0
"""A story's rank halves for each this many hours since its latest report."""
RANK_CANDIDATES = 200
"""The stories with the latest reports that compete for the top section."""
SAME_QUANTITY_RATIO = 3.0
"""Neighbouring values of one unit further apart than this factor are two quantities."""


def rank_score(story: StoryStats, now: datetime | None) -> float:
    """``(outlets + languages) × 2 ** (-age / HALF_LIFE_HOURS)``; see the module docstring."""
    coverage = story.outlets + story.languages
    if now is None or story.last_at is None:
        return float(coverage)
    age = max(0.0, (now - story.last_at).total_seconds() / 3600)
    return coverage * math.pow(2.0, -age / HALF_LIFE_HOURS)


def top_stories(conn: Connection, limit: int = TOP_STORIES) -> list[StoryStats]:
    """The best-ranked stories of two or more articles (see the module docstring)."""
    candidates = store.recent(conn, limit=RANK_CANDIDATES, min_articles=2)
    now = max((s.last_at for s in candidates if s.last_at is not None), default=None)
    candidates.sort(
        key=lambda s: (
            -rank_score(s, now),
            -(s.last_at.timestamp() if s.last_at else 0.0),
            -s.id,
        )
    )
    return candidates[:limit]


def story_slug(headline: ListItem, story_id: int) -> str:
    """The slug of a story page: from its headline in the page's language, else the original."""
    return paths.slugify(
        headline.title,
        fallback=paths.slugify(headline.original_title, fallback=f"story-{story_id}"),
    )


@dataclass(frozen=True)
class StorySummary:
    """A story in a list: its figures, headline, first and latest article, in one language."""

    stats: StoryStats
    headline: ListItem
    first: ListItem
    latest: ListItem

    @property
    def id(self) -> int:
        """The story's id."""
        return self.stats.id

    @property
    def slug(self) -> str:
        """The slug of its page in the list's language."""
        return story_slug(self.headline, self.stats.id)


def _headline_id(stats: StoryStats, members: list[Member]) -> int:
    ids = [m.article_id for m in members]
    return stats.headline_article_id if stats.headline_article_id in ids else ids[0]


def summaries(conn: Connection, found: list[StoryStats], lang: str) -> list[StorySummary]:
    """List entries for the given stories, titled in ``lang``; stories without members left out."""
    by_story = store.members(conn, [s.id for s in found])
    wanted: set[int] = set()
    for s in found:
        ms = by_story.get(s.id) or []
        if ms:
            wanted |= {_headline_id(s, ms), ms[0].article_id, ms[-1].article_id}
    titles = queries.titles(conn, sorted(wanted), lang)
    out = []
    for s in found:
        ms = by_story.get(s.id) or []
        if not ms:
            continue
        head = titles.get(_headline_id(s, ms))
        first, latest = titles.get(ms[0].article_id), titles.get(ms[-1].article_id)
        if head is None or first is None or latest is None:
            continue
        out.append(StorySummary(s, head, first, latest))
    return out


def page_slugs(
    conn: Connection, found: list[StoryStats], languages: Sequence[str]
) -> dict[int, dict[str, str]]:
    """The slug of each story's page in every language (sitemaps): its headline's title there.

    The same slug the story page itself uses (:attr:`StoryView.slug`); a story without a
    published member is left out.
    """
    by_story = store.members(conn, [s.id for s in found])
    heads = {s.id: _headline_id(s, ms) for s in found if (ms := by_story.get(s.id))}
    out: dict[int, dict[str, str]] = {story_id: {} for story_id in heads}
    for code in languages:
        titles = queries.titles(conn, sorted(set(heads.values())), code)
        for story_id, head in heads.items():
            item = titles.get(head)
            if item is not None:
                out[story_id][code] = story_slug(item, story_id)
    return {i: slugs for i, slugs in out.items() if len(slugs) == len(languages)}


def former_slugs(
    conn: Connection, story_id: int, headline_id: int | None, languages: Sequence[str]
) -> dict[str, str]:
    """The slugs a merged story's page had, per language, from its last headline.

    Empty when that headline is unknown or no longer published.
    """
    out: dict[str, str] = {}
    if headline_id is None:
        return out
    for code in languages:
        item = queries.titles(conn, [headline_id], code).get(headline_id)
        if item is not None:
            out[code] = story_slug(item, story_id)
    return out


@dataclass(frozen=True)
class ClaimView:
    """A claim as the story page shows it in one language."""

    row: ClaimRow
    article: ListItem
    text: str  # the content (same language), the translated sentence, or the original one
    text_lang: str  # the language ``text`` is in
    translated: bool
    conflict: bool = False


@dataclass(frozen=True)
class Figure:
    """One quantity of a claim, in a group of conflicting figures."""

    claim: ClaimView
    text: str
    value: float
    qualifier: str | None
    who: str
    unit: str = ""  # the unit word as extracted, in the claim's language


@dataclass(frozen=True)
class Conflict:
    """Different values for quantities of one unit, from different sources."""

    unit: str  # the canonical unit key ("tonne", "%")
    figures: list[Figure]

    @property
    def label(self) -> str:
        """The unit as its figures write it: "tonnes / Tonnen / тонн"."""
        words: list[str] = []
        for f in self.figures:
            if f.unit not in words:
                words.append(f.unit)
        return " / ".join(words)


@dataclass(frozen=True)
class StoryView:
    """Everything the story page shows, in one language."""

    stats: StoryStats
    headline: ListItem
    members: list[Member]  # the first report first
    items: dict[int, ListItem]  # member titles in the page's language
    claims: list[ClaimView] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    slugs: dict[str, str] = field(default_factory=dict)  # the page's slug in each language

    @property
    def id(self) -> int:
        """The story's id."""
        return self.stats.id

    @property
    def slug(self) -> str:
        """The slug of its page in the page's language."""
        return story_slug(self.headline, self.stats.id)

    @property
    def first(self) -> Member:
        """The first report."""
        return self.members[0]

    def languages(self) -> list[tuple[str | None, list[str]]]:
        """Each language with the outlets that reported in it, in order of first report."""
        seen: dict[str | None, list[str]] = {}
        for m in self.members:
            outlets = seen.setdefault(m.language, [])
            if m.outlet not in outlets:
                outlets.append(m.outlet)
        return list(seen.items())


def claim_translation(claim: ClaimRow, text: ArticleText | None, lang: str) -> str | None:
    """The claim's sentence in ``lang`` when its translated paragraph aligns, else None."""
    if text is None or text.translated is None:
        return None
    if not 0 <= claim.position < min(len(text.original), len(text.translated)):
        return None
    original = split_sentences(text.original[claim.position], claim.language)
    translated = split_sentences(text.translated[claim.position], lang)
    if len(original) != len(translated):
        return None
    wanted = normalise_source(claim.sentence)
    for index, sentence in enumerate(original):
        if normalise_source(sentence) == wanted:
            return translated[index].strip() or None
    return None


def _stamp(value: datetime | None) -> float:
    return value.timestamp() if value is not None else 0.0


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _quantities(figures: list[Figure]) -> list[list[Figure]]:
    """Figures of one unit split where neighbouring values differ by more than the ratio."""
    ordered = sorted(figures, key=lambda f: f.value)
    groups: list[list[Figure]] = []
    for f in ordered:
        previous = groups[-1][-1].value if groups else None
        if previous is not None and _close(previous, f.value):
            groups[-1].append(f)
        else:
            groups.append([f])
    return groups


def _close(low: float, high: float) -> bool:
    if low == high:
        return True
    if low <= 0 or high <= 0:
        return False
    return high / low <= SAME_QUANTITY_RATIO


def find_conflicts(claims: list[ClaimView]) -> list[Conflict]:
    """Groups of figures of one quantity with different values from different sources.

    A quantity is a canonical unit and a range of close values (module docstring).
    """
    by_unit: dict[str, list[Figure]] = defaultdict(list)
    for c in claims:
        who = (c.row.source or c.article.outlet).strip()
        for q in c.row.quantities:
            value, unit = _number(q.get("value")), q.get("unit")
            if value is None or not isinstance(unit, str) or not unit.strip():
                continue
            key = unit_key(unit, c.row.language)
            if key is None:
                continue
            qualifier = q.get("qualifier") if isinstance(q.get("qualifier"), str) else None
            text = str(q.get("text") or value)
            by_unit[key].append(Figure(c, text, value, qualifier, who, unit.strip()))
    out = []
    for key, figures in by_unit.items():
        for group in _quantities(figures):
            involved = [
                f
                for f in group
                if any(g.value != f.value and g.who.casefold() != f.who.casefold() for g in group)
            ]
            if involved:
                involved.sort(key=lambda f: (f.value, _stamp(f.claim.article.published_at)))
                out.append(Conflict(key, involved))
    out.sort(key=lambda c: (c.unit, c.figures[0].value))
    return out


def load_story(
    conn: Connection, story_id: int, lang: str, languages: list[str] | None = None
) -> StoryView | None:
    """The surviving story ``story_id`` in ``lang``; None when it has no published article.

    ``languages`` are the site languages whose slugs the page links (switcher, hreflang).
    """
    found = store.stats(conn, [story_id]).get(story_id)
    if found is None:
        return None
    members = store.members(conn, [story_id])[story_id]
    if not members:
        return None
    ids = [m.article_id for m in members]
    items = queries.titles(conn, ids, lang)
    headline = items.get(_headline_id(found, members))
    if headline is None:
        return None
    texts = store.texts(conn, ids, lang)
    views = []
    for row in store.claims_of(conn, ids):
        article = items.get(row.article_id)
        if article is None:
            continue
        if row.language == lang:
            views.append(ClaimView(row, article, row.content, lang, False))
            continue
        sentence = claim_translation(row, texts.get(row.article_id), lang)
        if sentence is not None:
            views.append(ClaimView(row, article, sentence, lang, True))
        else:
            views.append(ClaimView(row, article, row.sentence, row.language, False))
    views.sort(key=lambda c: (_stamp(c.article.published_at), c.row.article_id, c.row.position))
    conflicts = find_conflicts(views)
    marked = {f.claim.row.id for c in conflicts for f in c.figures}
    views = [
        ClaimView(c.row, c.article, c.text, c.text_lang, c.translated, c.row.id in marked)
        for c in views
    ]
    conflicts = find_conflicts(views)
    slugs = {lang: story_slug(headline, story_id)}
    for code in languages or []:
        if code not in slugs:
            other = queries.titles(conn, [headline.id], code).get(headline.id, headline)
            slugs[code] = story_slug(other, story_id)
    return StoryView(found, headline, members, items, views, conflicts, slugs)
