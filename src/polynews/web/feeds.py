"""Per-language RSS 2.0 and Atom feeds (feedgen); each entry links its page and the original."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator

from polynews.store.site_queries import EPOCH, ArticleView
from polynews.web import links as paths
from polynews.web.links import Links
from polynews.web.render import Renderer, article_slug
from polynews.web.stories import StorySummary

FEED_SIZE = 50
"""Entries per feed: the newest published articles."""


def summary_html(paragraphs: Iterable[str]) -> str:
    """Plain text as HTML paragraphs, every character escaped.

    Feed readers decode an RSS ``<description>`` (and an Atom ``type="html"`` summary) as
    HTML, so article text is escaped as HTML here, then once more as XML by the feed
    writer: text that looks like ``<script>`` reaches the reader as text.
    """
    return "".join(f"<p>{escape(part, quote=False)}</p>" for part in paragraphs)


def _channel(
    renderer: Renderer,
    lang: str,
    link: Links,
    *,
    feed_id: str,
    self_url: str,
    title: str,
    subtitle: str,
) -> FeedGenerator:
    """A feed of ``lang`` with its id, titles, language and its two links set."""
    fg = FeedGenerator()
    fg.id(feed_id)
    fg.title(f"{title} ({renderer.ui(lang).language_name(lang)})")
    fg.subtitle(subtitle)
    fg.language(lang)
    fg.link(href=link.absolute(paths.home_path(lang)), rel="alternate")
    fg.link(href=self_url, rel="self")
    fg.generator("polynews")
    return fg


def _summarise(entry: FeedEntry, parts: Iterable[str], kind: str) -> None:
    """Give ``entry`` its summary, escaped by :func:`summary_html`, where readers look."""
    summary = summary_html(parts)
    if kind == "atom":
        entry.summary(summary, type="html")
    else:
        entry.description(summary)  # readers decode an RSS description as HTML


def _serialise(fg: FeedGenerator, newest: datetime, kind: str) -> bytes:
    """The finished feed as UTF-8 XML, dated by its newest entry."""
    fg.updated(newest)
    fg.lastBuildDate(newest)
    if kind == "atom":
        return bytes(fg.atom_str(pretty=True))
    return bytes(fg.rss_str(pretty=True))


def build_feed(
    renderer: Renderer, lang: str, link: Links, views: Sequence[ArticleView], kind: str
) -> bytes:
    """The RSS 2.0 (``kind='rss'``) or Atom (``'atom'``) feed of ``lang``, as UTF-8 XML."""
    ui = renderer.ui(lang)
    fg = _channel(
        renderer,
        lang,
        link,
        feed_id=link.absolute(paths.home_path(lang)),
        self_url=link.absolute(paths.feed_path(lang, kind)),
        title=renderer.site_title,
        subtitle=ui.gettext("Latest news"),
    )
    newest: datetime = EPOCH
    # feedgen prepends entries, so add the oldest first to keep newest-first order.
    for view in reversed(list(views)):
        text = view.text(lang)
        page = link.absolute(paths.article_path(lang, view.id, article_slug(view, lang)))
        fe = fg.add_entry()
        fe.id(page)
        fe.guid(page, permalink=True)
        fe.title(text.title or view.outlet or page)
        fe.link(href=page, rel="alternate")
        # The original article: <source> in both formats, and named in the summary.
        fe.source(url=view.source_url, title=view.outlet or view.source_url)
        if view.author:
            fe.author(name=view.author)
        when = view.published_at or view.updated_at
        fe.published(when)
        fe.updated(view.modified)
        newest = max(newest, view.modified)
        lead = text.paragraphs[0] if text.paragraphs else ""
        if text.state == "translated" and text.translation is not None:
            note = ui.gettext(
                "Machine translation from %(language)s by %(engine)s",
                language=ui.language_name(view.language),
                engine=text.translation.route or text.translation.engine or "?",
            )
        elif view.language != lang:
            note = ui.gettext("Original in %(language)s", language=ui.language_name(view.language))
        else:
            note = ""
        parts = (lead, note, f"{ui.gettext('Source')}: {view.source_url}")
        _summarise(fe, (part for part in parts if part), kind)
    return _serialise(fg, newest, kind)


def build_story_feed(
    renderer: Renderer, lang: str, link: Links, found: Sequence[StorySummary], kind: str
) -> bytes:
    """The RSS 2.0 or Atom feed of the stories of ``lang``, the latest report first.

    An entry is a story: its headline in ``lang``, its page, its coverage and its first
    and latest reports, escaped like the article feeds. Its id is the story's address
    without the slug, which stays the same when the headline changes.
    """
    ui = renderer.ui(lang)
    self_url = link.absolute(paths.story_feed_path(lang, kind))
    fg = _channel(
        renderer,
        lang,
        link,
        feed_id=self_url,
        self_url=self_url,
        title=f"{renderer.site_title}: {ui.gettext('Top stories')}",
        subtitle=ui.gettext("Top stories"),
    )
    newest: datetime = EPOCH
    for story in reversed(list(found)):
        page = link.absolute(paths.story_path(lang, story.id, story.slug))
        stable = link.absolute(f"/{lang}/s/{story.id}")
        fe = fg.add_entry()
        fe.id(stable)
        fe.guid(stable, permalink=False)
        fe.title(story.headline.title or page)
        fe.link(href=page, rel="alternate")
        first_at = story.stats.first_at or EPOCH
        last_at = story.stats.last_at or first_at
        fe.published(first_at)
        fe.updated(last_at)
        newest = max(newest, last_at)
        parts = [renderer.coverage(lang, story.stats.outlets, story.stats.languages)]
        for label, item in (
            (ui.gettext("First report"), story.first),
            (ui.gettext("Latest report"), story.latest),
        ):
            parts.append(f"{label}: {item.outlet}, {ui.datetime(item.published_at)}: {item.title}")
        _summarise(fe, parts, kind)
    return _serialise(fg, newest, kind)
