"""Story pages, the home page grouped by story, the article's story link, story feeds, API.

Every test runs on SQLite and on PostgreSQL, on the web seed plus the stories of
``story_seed`` written straight into the story tables.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import httpx
import pytest
from sqlalchemy import Engine
from tests.web.conftest import HOSTILE_TITLE, SCRIPT_MARKERS, add_article
from tests.web.story_seed import (
    GERMAN_SENTENCE,
    GERMAN_TRANSLATED,
    T0,
    World,
    add_story,
    story_site,
)

from polynews.config import Settings
from polynews.store.site_queries import data_version
from polynews.store.story_views import StoryStats
from polynews.web.export import export_site
from polynews.web.i18n import UI
from polynews.web.stories import rank_score

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world(db_settings: Settings, engine: Engine) -> AsyncIterator[World]:
    """The seeded site with stories, on SQLite then PostgreSQL."""
    async with story_site(db_settings, engine) as built:
        yield built


class Doc(HTMLParser):
    """Elements with their classes, attributes and text, in document order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self._open: list[int] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, []))
        if tag not in ("meta", "link", "input", "br", "img"):
            self._open.append(len(self.elements) - 1)

    def handle_endtag(self, tag: str) -> None:
        while self._open and self.elements[self._open.pop()][0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        for index in self._open:
            self.elements[index][2].append(data)

    def all(self, cls: str) -> list[tuple[str, dict[str, str], str]]:
        """Elements whose class list holds ``cls``: (tag, attributes, text)."""
        return [
            (tag, attrs, " ".join("".join(text).split()))
            for tag, attrs, text in self.elements
            if cls in attrs.get("class", "").split()
        ]

    def texts(self, cls: str) -> list[str]:
        """The text of every element of class ``cls``."""
        return [text for _tag, _attrs, text in self.all(cls)]

    def links(self) -> list[tuple[str, str]]:
        """(href, text) of every link."""
        return [
            (attrs["href"], " ".join("".join(text).split()))
            for tag, attrs, text in self.elements
            if tag == "a" and "href" in attrs
        ]


async def story_page(world: World, lang: str, story_id: int) -> httpx.Response:
    """The story page in ``lang``, following the redirect from its bare address."""
    bare = await world.client.get(f"/{lang}/s/{story_id}")
    assert bare.status_code == 301, bare.text
    page = await world.client.get(bare.headers["location"])
    assert page.status_code == 200
    return page


async def test_story_page_headline_coverage_and_members(world: World) -> None:
    r = await story_page(world, "en", world.stories.lock)
    assert re.fullmatch(rf"/en/s/{world.stories.lock}/the-harbour-lock-reopens[a-z-]*", r.url.path)
    doc = Doc(r.text)
    assert doc.texts("headline") == ["The harbour lock reopens after three weeks of works"]
    assert doc.texts("coverage-line") == ["4 outlets · 4 languages"]
    rows = doc.all("tl-row")
    outlets = [text for _tag, _a, text in rows]
    order = ["Gazette de l'Estuaire", "Hafenbote", "Northgate Post", "Kyiv Harbour Daily"]
    assert [next(o for o in order if o in text) for text in outlets] == order
    assert "tl-first" in rows[0][1]["class"] and "First report" in outlets[0]
    assert all("First report" not in text for text in outlets[1:])
    assert "1 hour after the first report" in outlets[1]
    assert "6 hours after the first report" in outlets[3]
    bars = [attrs["class"] for tag, attrs, _t in doc.all("tl-bar")]
    assert bars == ["tl-bar w-0", "tl-bar w-3", "tl-bar w-13", "tl-bar w-20"]
    assert doc.texts("by-language") and "German: Hafenbote" in doc.texts("by-language")[0]
    # Members, the latest first, each linking its article page in the page's language.
    links = [href for href, _text in doc.links() if href.startswith("/en/a/")]
    for article_id in (world.stories.ukrainian, world.stories.english, world.stories.german):
        assert any(href.startswith(f"/en/a/{article_id}/") for href in links)
    members = [text for tag, _a, text in doc.all("item-title") if tag == "h2"]
    assert len(members) == 4 and members[0] == "Шлюз у порту знову працює"
    assert not re.search(r"<script|style=|<style", r.text)
    for marker in SCRIPT_MARKERS:
        assert marker not in r.text


async def test_story_headline_in_the_original_with_a_note(world: World) -> None:
    r = await story_page(world, "de", world.stories.lock)
    doc = Doc(r.text)
    _tag, attrs, text = doc.all("headline")[0]
    assert text == "L'écluse du port rouvre après trois semaines de travaux"
    assert attrs["lang"] == "fr"
    note = UI("de").gettext("Original in %(language)s", language="Französisch")
    assert note in doc.texts("note")
    assert doc.texts("coverage-line") == ["4 Medien · 4 Sprachen"]
    uk = Doc((await story_page(world, "uk", world.stories.lock)).text)
    assert uk.texts("coverage-line") == ["4 видання · 4 мови"]


async def test_claims_in_the_readers_language_or_marked_original(world: World) -> None:
    en = Doc((await story_page(world, "en", world.stories.lock)).text)
    row = next(t for _tag, a, t in en.all("claim") if a["id"] == f"claim-{world.stories.claim_de}")
    assert GERMAN_TRANSLATED in row and "Machine translation from German" in row
    assert "Hafenamt" in row and "40 %" in row and "Hafenbote" in row
    fr = Doc((await story_page(world, "fr", world.stories.lock)).text)
    row = next(t for _tag, a, t in fr.all("claim") if a["id"] == f"claim-{world.stories.claim_de}")
    assert GERMAN_SENTENCE in row and "Original in" not in row
    assert UI("fr").gettext("Original in %(language)s", language="allemand") in row
    spans = [a for tag, a, t in fr.elements if tag == "span" and t and GERMAN_SENTENCE in t[0]]
    assert spans and spans[0].get("lang") == "de"
    de = Doc((await story_page(world, "de", world.stories.lock)).text)
    row = next(t for _tag, a, t in de.all("claim") if a["id"] == f"claim-{world.stories.claim_de}")
    assert "sind 40 % der Flotte zurück" in row and GERMAN_SENTENCE not in row
    # Each claim links the article its sentence came from.
    links = [h for h, text in en.links() if text == "Read in context"]
    assert any(h.startswith(f"/en/a/{world.stories.german}/") for h in links)


async def test_conflicting_figures_side_by_side(world: World) -> None:
    r = await story_page(world, "en", world.stories.lock)
    doc = Doc(r.text)
    groups = doc.all("conflict")
    assert [a["data-unit"] for _tag, a, _t in groups] == ["%"]
    figures = doc.texts("figure")
    assert len(figures) == 3
    assert "40 %" in figures[0] and "40 %" in figures[1] and "55 %" in figures[2]
    assert {"Hafenamt", "мера", "The harbour master"} == {
        w for w in ("Hafenamt", "мера", "The harbour master") if any(w in f for f in figures)
    }
    marked = {a["id"] for _tag, a, _t in doc.all("claim-conflict")}
    s = world.stories
    assert marked == {f"claim-{s.claim_de}", f"claim-{s.claim_en}", f"claim-{s.claim_uk}"}
    # One source with two values and two sources with one value are not conflicts.
    assert "boats" not in " ".join(t for _tag, _a, t in groups)
    assert "km" not in [a["data-unit"] for _tag, a, _t in groups]
    # The hostile claim is text.
    assert "&lt;b&gt;no&lt;/b&gt;" in r.text and "&lt;img src=x onerror=alert(1)&gt;" in r.text
    assert "<img src=x" not in r.text


async def test_merged_ids_and_wrong_slugs_redirect(world: World) -> None:
    s = world.stories
    canonical = (await story_page(world, "en", s.lock)).url.path
    for old in (s.merged, s.merged_twice):
        for path in (f"/en/s/{old}", f"/en/s/{old}/anything"):
            r = await world.client.get(path)
            assert r.status_code == 301 and r.headers["location"] == canonical, path
    r = await world.client.get(f"/en/s/{s.lock}/not-the-slug")
    assert r.status_code == 301 and r.headers["location"] == canonical
    for missing in (s.empty, 999_999, 2**31, 10**30, 0, -1):
        r = await world.client.get(f"/en/s/{missing}/x")
        assert r.status_code == 404, missing
    assert (await world.client.get(f"/xx/s/{s.lock}/x")).status_code == 404


async def test_home_groups_articles_by_story(world: World) -> None:
    r = await world.client.get("/en/")
    doc = Doc(r.text)
    s = world.stories
    top = [t for _tag, a, t in doc.all("story-entry")]
    # The lock story (8 = 4 outlets + 4 languages, 1 h older) outranks the ferry (4, newest).
    assert len(top) == 2
    assert top[0].startswith("The harbour lock reopens") and "4 outlets · 4 languages" in top[0]
    assert "Council votes" in top[1] and "2 outlets · 2 languages" in top[1]
    assert "First report" in top[0] and "Latest report" in top[0]
    hrefs = [h for h, _t in doc.links()]
    assert any(h.startswith(f"/en/s/{s.lock}/") for h in hrefs)
    # The latest list: only the article in no story of two or more.
    titles = [t for _tag, a, t in doc.all("item-title")]
    lone = [t for t in titles if "port" in t and "closes" in t]
    assert len(lone) == 1
    assert sum("harbour lock reopens" in t for t in titles) == 1  # once, as a story
    uk = Doc((await world.client.get("/uk/")).text)
    assert uk.texts("coverage-line") == ["4 видання · 4 мови", "2 видання · 2 мови"]
    fr = Doc((await world.client.get("/fr/")).text)
    assert fr.texts("coverage-line") == ["4 médias · 4 langues", "2 médias · 2 langues"]


def test_rank_formula() -> None:
    now = T0

    def story(outlets: int, languages: int, hours: float) -> StoryStats:
        at = now - timedelta(hours=hours)
        return StoryStats(1, None, outlets, outlets, languages, at, at)

    assert rank_score(story(4, 4, 0), now) == 8
    assert rank_score(story(4, 4, 24), now) == pytest.approx(4)
    assert rank_score(story(2, 2, 0), now) > rank_score(story(4, 4, 48), now)
    assert rank_score(story(5, 3, 0), now) > rank_score(story(4, 3, 0), now)


async def test_article_page_links_its_story(world: World) -> None:
    s = world.stories
    r = await world.client.get(f"/en/a/{world.seeded.french}", follow_redirects=True)
    doc = Doc(r.text)
    assert doc.texts("story-link") == ["Also reported by 3 outlets in 3 languages"]
    href = next(h for h, t in doc.links() if t.startswith("Also reported"))
    assert href.startswith(f"/en/s/{s.lock}/")
    uk = Doc((await world.client.get(f"/uk/a/{world.seeded.french}", follow_redirects=True)).text)
    assert uk.texts("story-link") == ["Також повідомили 3 видання 3 мовами"]
    ferry = Doc(
        (await world.client.get(f"/en/a/{world.seeded.english}", follow_redirects=True)).text
    )
    assert ferry.texts("story-link") == ["Also reported by 1 outlet in 1 language"]
    alone = Doc(
        (await world.client.get(f"/en/a/{world.seeded.hostile}", follow_redirects=True)).text
    )
    assert alone.texts("story-link") == []


async def test_story_feeds_are_escaped_text(world: World) -> None:
    hostile_partner = add_article(
        world.engine,
        world.seeded.other_source_id,
        "http://127.0.0.1:9/post/hostile-too.html",
        title="Port closes",
        paragraphs=["Text."],
        language="en",
        published=T0 - timedelta(hours=20),
        outlet="Northgate Post",
    )
    add_story(world.engine, [world.seeded.hostile, hostile_partner], headline=world.seeded.hostile)
    for path in ("/fr/stories/feed.xml", "/fr/stories/atom.xml"):
        r = await world.client.get(path)
        assert r.status_code == 200 and r.headers["etag"]
        parsed = feedparser.parse(r.content, sanitize_html=False)
        assert not parsed.bozo, parsed.get("bozo_exception")
        titles = [e.title for e in parsed.entries]
        assert titles[:2] == [
            "Le conseil vote la prolongation du ferry de nuit",
            "L'écluse du port rouvre après trois semaines de travaux",
        ]
        assert HOSTILE_TITLE in titles
        assert parsed.entries[0].link.startswith(f"http://news.test/fr/s/{world.stories.ferry}/")
        seen = False
        for entry in parsed.entries:
            reader = _Elements()
            reader.feed(entry.summary)
            assert reader.tags <= {"p"}, reader.tags
            text = "".join(reader.text)
            assert "médias" in text
            seen = seen or HOSTILE_TITLE in text
        assert seen


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


async def test_api_lists_stories_with_a_cursor(world: World) -> None:
    s = world.stories
    r = await world.client.get("/api/v1/stories", params={"lang": "en", "limit": 1})
    body = r.json()
    assert [i["id"] for i in body["items"]] == [s.ferry]
    item = body["items"][0]
    assert item["headline"] == "Council votes to extend the night ferry service"
    assert (item["outlets"], item["languages"], item["articles"]) == (2, 2, 2)
    assert item["page"].startswith(f"http://news.test/en/s/{s.ferry}/")
    rest = await world.client.get(
        "/api/v1/stories", params={"lang": "en", "limit": 1, "cursor": body["next_cursor"]}
    )
    assert [i["id"] for i in rest.json()["items"]] == [s.lock]
    assert rest.json()["items"][0]["translated"] is True
    assert rest.json()["next_cursor"] is None
    bad = await world.client.get("/api/v1/stories", params={"cursor": "!!!"})
    assert bad.status_code == 400 and "cursor" in bad.json()["error"]
    assert (await world.client.get("/api/v1/stories", params={"lang": "xx"})).status_code == 400


async def test_api_story_detail(world: World) -> None:
    s = world.stories
    r = await world.client.get(f"/api/v1/stories/{s.lock}", params={"lang": "en"})
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == s.lock and body["merged"] is False
    assert [m["article_id"] for m in body["members"]] == [
        world.seeded.french,
        s.german,
        s.english,
        s.ukrainian,
    ]
    assert body["members"][0]["first_report"] is True and body["members"][0]["score"] is None
    cov = body["coverage"]
    assert (cov["articles"], cov["outlets"], cov["languages"]) == (4, 4, 4)
    assert cov["first_report_article_id"] == world.seeded.french
    assert [g["language"] for g in cov["by_language"]] == ["fr", "de", "en", "uk"]
    de = next(c for c in body["claims"] if c["id"] == s.claim_de)
    assert de["translated"] is True and de["text"] == GERMAN_TRANSLATED
    assert de["sentence"] == GERMAN_SENTENCE and de["conflict"] is True
    assert de["quantities"] == [
        {"text": "40 %", "value": 40.0, "unit": "%", "unit_key": "%", "qualifier": None}
    ]
    assert de["article_page"].startswith(f"http://news.test/en/a/{s.german}/")
    assert [g["unit"] for g in body["conflicts"]] == ["%"]
    assert sorted(f["value"] for f in body["conflicts"][0]["figures"]) == [40, 40, 55]
    merged = (await world.client.get(f"/api/v1/stories/{s.merged_twice}")).json()
    assert merged["id"] == s.lock and merged["merged"] is True
    assert merged["requested_id"] == s.merged_twice
    for missing in (s.empty, 999_999, 2**31, 10**30, -1):
        assert (await world.client.get(f"/api/v1/stories/{missing}")).status_code == 404
    spec = (await world.client.get("/api/v1/openapi.json")).json()
    assert {"/api/v1/stories", "/api/v1/stories/{story_id}"} <= set(spec["paths"])
    docs = await world.client.get("/api/docs")
    assert "/api/v1/stories/{story_id}" in docs.text


async def test_export_has_story_pages_and_feeds(world: World, tmp_path: Path) -> None:
    out = tmp_path / "site"
    report = export_site(world.settings, out, "https://news.example.org", engine=world.engine)
    assert report.feeds == 24
    pages = sorted(p.relative_to(out).as_posix() for p in out.glob("*/s/*/*/index.html"))
    assert len(pages) == 2 * 6  # two stories with members, six languages
    lock = next(p for p in pages if p.startswith(f"en/s/{world.stories.lock}/"))
    html = (out / lock).read_text("utf-8")
    assert "4 outlets · 4 languages" in html and 'href="../../../../static/style.css"' in html
    # The switcher's links reach the story page in every language on disk.
    for href in re.findall(r'href="(\.\./[^"]*/s/[^"]*)"', html):
        assert (out / lock).parent.joinpath(href).resolve().is_file(), href
    feed = feedparser.parse((out / "en" / "stories" / "feed.xml").read_bytes())
    assert not feed.bozo and len(feed.entries) == 2


async def test_data_version_follows_stories(world: World) -> None:
    with world.engine.connect() as conn:
        before, _at = data_version(conn)
    add_story(world.engine, [world.seeded.hostile])
    with world.engine.connect() as conn:
        after, _at = data_version(conn)
    assert after != before


def test_every_ui_string_is_in_every_catalog() -> None:
    from babel.messages.pofile import read_po

    from polynews.web.i18n import LOCALE_DIR

    web = Path(__file__).parents[2] / "src" / "polynews" / "web"
    files = [*web.glob("*.py"), *web.glob("templates/*")]
    # Adjacent string literals on separate lines are one message.
    source = re.sub(r'"\s*\n\s*"', "", "".join(p.read_text("utf-8") for p in files))
    used = set(re.findall(r'(?:_|gettext)\(\s*"((?:[^"\\]|\\.)+)"', source))
    plural = set(re.findall(r'ngettext\(\s*"((?:[^"\\]|\\.)+)",\s*"', source))
    assert {"Top stories", "Coverage", "First report"} <= used
    assert {"%(n)s outlet", "Also reported by %(n)s outlet"} <= plural
    forms = {"en": 2, "es": 2, "de": 2, "fr": 2, "it": 2, "uk": 3}
    for lang, count in forms.items():
        with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        for msgid in used | plural:
            message = catalog.get(msgid)
            assert message is not None, (lang, msgid)
            if msgid in plural:
                assert isinstance(message.string, tuple) and len(message.string) == count
            if lang != "en":
                strings = message.string
                assert all(strings if isinstance(strings, tuple) else [strings]), (lang, msgid)
