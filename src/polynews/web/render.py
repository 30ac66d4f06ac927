"""HTML pages from templates: the same functions serve requests and write the static export.

Jinja2 autoescapes everything: text from sources (titles, paragraphs, outlet names) is
always escaped, never rendered as HTML.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from polynews.config import Settings
from polynews.store.site_queries import ArticleView, ListItem, SourceView, Text
from polynews.web import links as paths
from polynews.web.i18n import UI, own_name, switcher_label
from polynews.web.links import SWITCH_PARAM, Links
from polynews.web.stories import StorySummary, StoryView

TIMELINE_STEPS = 20
"""The coverage timeline's bars are drawn in this many widths (CSS classes, no inline style)."""


@dataclass(frozen=True)
class StoryLink:
    """The article page's pointer to its story: the other members' outlets and languages."""

    story_id: int
    slug: str
    outlets: int
    languages: int


TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Switch:
    """One entry of the language switcher."""

    lang: str
    label: str  # 'Fr'
    name: str  # 'français'
    href: str
    current: bool


@dataclass(frozen=True)
class Alternate:
    """A ``<link rel="alternate" hreflang>`` of the page head."""

    lang: str
    href: str


def article_slug(view: ArticleView, lang: str) -> str:
    """The slug of an article's page in ``lang``: from its title there, else the original's."""
    return paths.article_slug(view.text(lang).title, view.title, view.id)


class Renderer:
    """Renders every HTML page of the site in any of its languages."""

    def __init__(self, settings: Settings) -> None:
        self.languages: list[str] = list(settings.languages)
        self.site_title: str = settings.site_title
        self.page_size: int = settings.page_size
        self.time_zone: str = settings.time_zone
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._ui = {lang: UI(lang, self.time_zone) for lang in self.languages}

    def ui(self, lang: str) -> UI:
        """The UI strings and formats of ``lang``."""
        found = self._ui.get(lang)
        if found is None:
            found = self._ui[lang] = UI(lang, self.time_zone)
        return found

    # -- shared page frame -------------------------------------------------------------

    def _switcher(
        self, lang: str, link: Links, path_for: dict[str, str], *, switch: bool = True
    ) -> list[Switch]:
        query = "" if link.export or not switch else f"?{SWITCH_PARAM}=1"
        return [
            Switch(
                code,
                switcher_label(code),
                own_name(code),
                link.href(path_for[code]) + ("" if code == lang else query),
                code == lang,
            )
            for code in self.languages
        ]

    def _frame(
        self,
        lang: str,
        link: Links,
        *,
        title: str,
        path_for: dict[str, str],
        noindex: bool = False,
    ) -> dict[str, Any]:
        ui = self.ui(lang)
        return {
            "lang": lang,
            "ui": ui,
            "_": ui.gettext,
            "title": title,
            "site_title": self.site_title,
            "link": link,
            "css": link.href("/static/style.css"),
            "icon": link.href("/static/favicon.svg"),
            "home": link.href(paths.home_path(lang)),
            "search_action": None if link.export else link.href(paths.search_path(lang)),
            "rss": link.href(paths.feed_path(lang, "rss")),
            "atom": link.href(paths.feed_path(lang, "atom")),
            "stories_rss": link.href(paths.story_feed_path(lang, "rss")),
            "stories_atom": link.href(paths.story_feed_path(lang, "atom")),
            "canonical": link.absolute(path_for[lang]),
            "alternates": [Alternate(c, link.absolute(path_for[c])) for c in self.languages],
            "x_default": link.absolute(path_for[self.languages[0]]),
            "switcher": self._switcher(lang, link, path_for),
            "noindex": noindex,
            "query": "",
        }

    def _items(self, lang: str, link: Links, items: Sequence[ListItem]) -> list[dict[str, Any]]:
        ui = self.ui(lang)
        out = []
        for item in items:
            slug = paths.article_slug(item.title, item.original_title, item.id)
            out.append(
                {
                    "id": item.id,
                    "title": item.title,
                    "title_lang": lang
                    if item.translated or item.language == lang
                    else item.language,
                    "href": link.href(paths.article_path(lang, item.id, slug)),
                    "outlet": item.outlet,
                    "outlet_href": (
                        link.href(paths.source_path(lang, item.source_id))
                        if item.source_id is not None
                        else None
                    ),
                    "when": ui.datetime(item.published_at),
                    "iso": item.published_at.isoformat() if item.published_at else "",
                    "original": not item.translated and item.language != lang,
                    "language": item.language,
                    "language_name": ui.language_name(item.language),
                }
            )
        return out

    def _pager(self, lang: str, link: Links, page: int, total: int, path: Any) -> dict[str, Any]:
        pages = max(1, math.ceil(total / self.page_size))
        return {
            "page": page,
            "search": False,
            "pages": pages,
            "prev": link.href(path(page - 1)) if page > 1 else None,
            "next": link.href(path(page + 1)) if page < pages else None,
        }

    # -- pages ---------------------------------------------------------------------------

    def coverage(self, lang: str, outlets: int, languages: int) -> str:
        """'5 outlets · 4 languages' in ``lang``, plural forms right."""
        ui = self.ui(lang)
        return (
            ui.ngettext("%(n)s outlet", "%(n)s outlets", outlets)
            + " · "
            + ui.ngettext("%(n)s language", "%(n)s languages", languages)
        )

    def _story_entry(self, lang: str, link: Links, story: StorySummary) -> dict[str, Any]:
        head = story.headline
        first, latest = self._items(lang, link, [story.first, story.latest])
        return {
            "kind": "story",
            "id": story.id,
            "title": head.title,
            "title_lang": lang if head.translated or head.language == lang else head.language,
            "href": link.href(paths.story_path(lang, story.id, story.slug)),
            "coverage": self.coverage(lang, story.stats.outlets, story.stats.languages),
            "articles": story.stats.articles,
            "first": first,
            "latest": latest if story.latest.id != story.first.id else None,
        }

    def home(
        self,
        lang: str,
        link: Links,
        entries: Sequence[ListItem | StorySummary],
        *,
        page: int,
        total: int,
        top: Sequence[StorySummary] = (),
    ) -> str:
        """The top stories (first page) and the latest articles and stories in ``lang``."""
        ui = self.ui(lang)
        path_for = {c: paths.home_path(c, page) for c in self.languages}
        ctx = self._frame(lang, link, title=ui.gettext("Latest news"), path_for=path_for)
        items = []
        for entry in entries:
            if isinstance(entry, StorySummary):
                items.append(self._story_entry(lang, link, entry))
            else:
                items.extend({**i, "kind": "article"} for i in self._items(lang, link, [entry]))
        ctx.update(
            heading=ui.gettext("Latest news"),
            top=[self._story_entry(lang, link, s) for s in top],
            items=items,
            pager=self._pager(lang, link, page, total, lambda n: paths.home_path(lang, n)),
            empty=ui.gettext("No articles have been published yet."),
        )
        return self.env.get_template("home.html").render(ctx)

    def story(self, lang: str, link: Links, story: StoryView) -> str:
        """A story page: headline, coverage timeline, member articles, claims and conflicts."""
        ui = self.ui(lang)
        path_for = {
            code: paths.story_path(code, story.id, story.slugs.get(code, story.slug))
            for code in self.languages
        }
        head = story.headline
        ctx = self._frame(lang, link, title=head.title, path_for=path_for)
        first_at = story.first.published_at
        last_at = story.members[-1].published_at
        span = (last_at - first_at).total_seconds() if first_at and last_at else 0.0
        article_items = self._items(
            lang,
            link,
            [
                story.items[m.article_id]
                for m in reversed(story.members)
                if m.article_id in story.items
            ],
        )
        href_of = {i["id"]: i["href"] for i in article_items}
        timeline = []
        for index, m in enumerate(story.members):
            offset = (
                (m.published_at - first_at).total_seconds() if m.published_at and first_at else 0.0
            )
            step = round(TIMELINE_STEPS * offset / span) if span > 0 else 0
            delay = ""
            if index and m.published_at and first_at and offset > 0:
                delay = ui.gettext(
                    "%(delay)s after the first report", delay=ui.delay(m.published_at - first_at)
                )
            timeline.append(
                {
                    "first": index == 0,
                    "outlet": m.outlet,
                    "language_name": ui.language_name(m.language),
                    "language": m.language,
                    "when": ui.datetime(m.published_at),
                    "iso": m.published_at.isoformat() if m.published_at else "",
                    "step": max(0, min(TIMELINE_STEPS, step)),
                    "delay": delay,
                    "href": href_of.get(m.article_id),
                }
            )
        claims = [
            {
                "id": c.row.id,
                "who": c.row.source or "",
                "cue": c.row.cue,
                "text": c.text,
                "text_lang": c.text_lang,
                "translated": c.translated,
                "original_name": ui.language_name(c.row.language),
                "marked_original": c.text_lang != lang,
                "quantities": [str(q.get("text") or "") for q in c.row.quantities],
                "outlet": c.article.outlet,
                "when": ui.datetime(c.article.published_at),
                "iso": c.article.published_at.isoformat() if c.article.published_at else "",
                "href": href_of.get(c.row.article_id, ""),
                "conflict": c.conflict,
            }
            for c in story.claims
        ]
        conflicts = [
            {
                "unit": conflict.unit,
                "label": conflict.label,
                "figures": [
                    {
                        "text": f.text,
                        "value": ui.number(f.value),
                        "qualifier": f.qualifier or "",
                        "who": f.who,
                        "outlet": f.claim.article.outlet,
                        "when": ui.datetime(f.claim.article.published_at),
                        "href": href_of.get(f.claim.row.article_id, ""),
                        "claim": f.claim.row.id,
                    }
                    for f in conflict.figures
                ],
            }
            for conflict in story.conflicts
        ]
        ctx.update(
            headline=head.title,
            headline_lang=lang if head.translated or head.language == lang else head.language,
            headline_original=not head.translated and head.language != lang,
            headline_language_name=ui.language_name(head.language),
            coverage=self.coverage(lang, story.stats.outlets, story.stats.languages),
            by_language=[
                {"name": ui.language_name(code), "lang": code, "outlets": outlets}
                for code, outlets in story.languages()
            ],
            timeline=timeline,
            items=article_items,
            pager={"pages": 1},
            claims=claims,
            conflicts=conflicts,
        )
        return self.env.get_template("story.html").render(ctx)

    def source(
        self,
        lang: str,
        link: Links,
        source: SourceView,
        items: Sequence[ListItem],
        *,
        page: int,
    ) -> str:
        """An outlet's articles."""
        ui = self.ui(lang)
        path_for = {c: paths.source_path(c, source.id, page) for c in self.languages}
        heading = ui.gettext("Articles from %(outlet)s", outlet=source.name)
        ctx = self._frame(lang, link, title=heading, path_for=path_for)
        ctx.update(
            heading=heading,
            items=self._items(lang, link, items),
            pager=self._pager(
                lang, link, page, source.articles, lambda n: paths.source_path(lang, source.id, n)
            ),
            empty=ui.gettext("No articles from this source have been published yet."),
        )
        return self.env.get_template("list.html").render(ctx)

    def article(
        self, lang: str, link: Links, view: ArticleView, story: StoryLink | None = None
    ) -> str:
        """The reader's page: switcher, headline, outlet and time, body, notes, Source."""
        ui = self.ui(lang)
        text: Text = view.text(lang)
        path_for = {
            c: paths.article_path(c, view.id, article_slug(view, c)) for c in self.languages
        }
        ctx = self._frame(lang, link, title=text.title, path_for=path_for)
        original = view.language or lang
        note = None
        if text.state == "translated" and text.translation is not None:
            engine = text.translation.route or text.translation.engine or "?"
            note = ui.gettext(
                "Machine translation from %(language)s by %(engine)s",
                language=ui.language_name(original),
                engine=engine,
            )
        elif text.state == "pending":
            note = ui.gettext(
                "No translation into %(target)s yet: this is the original text in %(language)s.",
                target=ui.language_name(lang),
                language=ui.language_name(original),
            )
        elif text.state == "no_engine":
            note = ui.gettext(
                "No translation engine covers %(language)s to %(target)s: this is the "
                "original text.",
                target=ui.language_name(lang),
                language=ui.language_name(original),
            )
        elif text.state == "failed":
            note = ui.gettext(
                "The translation into %(target)s failed: this is the original text in "
                "%(language)s.",
                target=ui.language_name(lang),
                language=ui.language_name(original),
            )
        original_href = None
        if original != lang and original in path_for:
            original_href = link.href(path_for[original])
        ctx.update(
            article=view,
            text=text,
            text_lang=text.lang,
            note=note,
            note_kind=text.state,
            outlet=view.outlet,
            outlet_href=(
                link.href(paths.source_path(lang, view.source_id))
                if view.source_id is not None
                else None
            ),
            when=ui.datetime(view.published_at),
            iso=view.published_at.isoformat() if view.published_at else "",
            original_href=original_href,
            original_name=ui.language_name(original),
            source_url=view.source_url,
            story_href=(
                link.href(paths.story_path(lang, story.story_id, story.slug))
                if story is not None
                else None
            ),
            story_line=(
                ui.ngettext(
                    "Also reported by %(n)s outlet", "Also reported by %(n)s outlets", story.outlets
                )
                + " "
                + ui.ngettext("in %(n)s language", "in %(n)s languages", story.languages)
                if story is not None
                else ""
            ),
        )
        return self.env.get_template("article.html").render(ctx)

    def search(
        self,
        lang: str,
        link: Links,
        *,
        query: str,
        items: Sequence[ListItem] | None,
        total: int,
        more: bool,
        page: int,
        message: str | None,
        last_page: int | None = None,
    ) -> str:
        """The search form and, for a query, its results or a message saying why not.

        ``total`` is how many matches this page and the ones before it hold; ``more`` says
        whether others follow (there is no count of every match: it would cost as much as
        ranking them all); no page after ``last_page`` is offered.
        """
        ui = self.ui(lang)
        path_for = {c: paths.search_path(c) for c in self.languages}
        ctx = self._frame(lang, link, title=ui.gettext("Search"), path_for=path_for, noindex=True)
        from urllib.parse import urlencode

        def page_href(n: int) -> str:
            return link.href(paths.search_path(lang)) + "?" + urlencode({"q": query, "page": n})

        offer_next = more and (last_page is None or page < last_page)
        results_line = None
        if items is not None and message is None:
            results_line = (
                ui.ngettext(
                    "More than %(n)s article matches “%(query)s”.",
                    "More than %(n)s articles match “%(query)s”.",
                    total,
                    query=query,
                )
                if more
                else ui.ngettext(
                    "%(n)s article matches “%(query)s”.",
                    "%(n)s articles match “%(query)s”.",
                    total,
                    query=query,
                )
            )
        ctx.update(
            query=query,
            heading=ui.gettext("Search"),
            message=message,
            items=self._items(lang, link, items or []),
            results_line=results_line,
            pager={
                "search": True,
                "page": page,
                "pages": page + 1 if offer_next else page,
                "prev": page_href(page - 1) if page > 1 else None,
                "next": page_href(page + 1) if offer_next else None,
            },
        )
        return self.env.get_template("search.html").render(ctx)

    def error(self, lang: str, link: Links, *, status: int, message: str) -> str:
        """An error page (404, 429, ...) in the visitor's language."""
        lang = lang if lang in self.languages else self.languages[0]
        ui = self.ui(lang)
        path_for = {c: paths.home_path(c) for c in self.languages}
        title = (
            ui.gettext("Page not found")
            if status == 404
            else ui.gettext("Too many requests")
            if status == 429
            else ui.gettext("Something went wrong")
        )
        ctx = self._frame(lang, link, title=title, path_for=path_for, noindex=True)
        ctx.update(heading=title, message=message, status=status)
        return self.env.get_template("error.html").render(ctx)

    def stamp(self, value: datetime | None, lang: str) -> str:
        """A date-time in ``lang`` (used by feeds for display)."""
        return self.ui(lang).datetime(value)
