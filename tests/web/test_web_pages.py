"""The reader's pages through an in-process client on a real SQLite database."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest
from tests.web.conftest import SCRIPT_MARKERS, Seeded

pytestmark = pytest.mark.anyio


class Page(HTMLParser):
    """The parts of a page the tests look at."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.html_lang = ""
        self.links: list[dict[str, str]] = []  # <a>
        self.heads: list[dict[str, str]] = []  # <link>
        self.texts: dict[str, list[str]] = {}
        self._stack: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.html_lang = a.get("lang", "")
        if tag == "a":
            self.links.append({**a, "text": ""})
        if tag == "link":
            self.heads.append(a)
        if tag not in ("meta", "link", "input", "br", "img"):
            self._stack.append((tag, a))

    def handle_endtag(self, tag: str) -> None:
        while self._stack and self._stack.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        if self._stack and self._stack[-1][0] == "a" and self.links:
            self.links[-1]["text"] += data
        for tag, attrs in self._stack:
            key = attrs.get("class", tag)
            self.texts.setdefault(key, []).append(data)

    def text(self, key: str) -> str:
        return " ".join(" ".join(self.texts.get(key, [])).split())


async def test_root_redirects_by_cookie_then_accept_language(client: httpx.AsyncClient) -> None:
    r = await client.get("/", headers={"accept-language": "de-CH, fr;q=0.8"})
    assert r.status_code == 302 and r.headers["location"] == "/de/"
    r = await client.get("/", headers={"accept-language": "pt-BR, it;q=0.5, en;q=0.1"})
    assert r.headers["location"] == "/it/"
    r = await client.get("/", headers={"accept-language": "ja"})
    assert r.headers["location"] == "/en/"
    r = await client.get("/", headers={"accept-language": "de", "cookie": "polynews_lang=uk"})
    assert r.headers["location"] == "/uk/"


async def test_switcher_sets_the_cookie(client: httpx.AsyncClient, seeded: Seeded) -> None:
    r = await client.get("/fr/?switch=1")
    assert r.status_code == 200
    assert "polynews_lang=fr" in r.headers["set-cookie"]
    assert "set-cookie" not in (await client.get("/fr/")).headers


async def test_home_lists_titles_in_the_page_language(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    r = await client.get("/es/")
    assert r.status_code == 200
    page = Page(r.text)
    assert page.html_lang == "es"
    assert "La esclusa del puerto reabre" in r.text  # translated title
    # The English article has no Spanish translation: original title, badge, lang attribute.
    council = [a for a in page.links if "Council votes" in a["text"]]
    assert council and council[0]["lang"] == "en"
    assert "Original en inglés" in page.text("badge")
    assert page.text("h1") == "Últimas noticias"


async def test_article_page_in_order(client: httpx.AsyncClient, seeded: Seeded) -> None:
    r = await client.get(f"/fr/a/{seeded.english}/x")
    assert r.status_code == 301
    r = await client.get(r.headers["location"])
    assert r.status_code == 200
    html = r.text
    page = Page(html)
    assert page.html_lang == "fr"
    switch = [
        a for a in page.links if (a.get("hreflang") and "aria-current" in a) or a.get("hreflang")
    ]
    labels = [a["text"].strip() for a in page.links if a.get("hreflang") and a.get("lang")]
    assert labels[:6] == ["En", "Es", "De", "Fr", "It", "Ук"]
    current = [a for a in switch if "aria-current" in a]
    assert [a["text"].strip() for a in current] == ["Fr"]
    en_link = next(a for a in page.links if a["text"].strip() == "En")
    assert en_link["href"].startswith(f"/en/a/{seeded.english}/council-votes")
    # headline, then "Outlet - date time zone", then the body, then the note, then Source
    order = [
        html.index("Le conseil vote la prolongation du ferry de nuit"),
        html.index("Northgate Post</a> - <time"),
        html.index("28 octobre 2025 13:47 UTC"),
        html.index("Traduction automatique (langue d’origine\u00a0: anglais) par apertium en→fr"),
        html.index("Le vote a été adopté"),
        html.index("Lire l’original en anglais"),
        html.index(">Source</a>"),
    ]
    assert order == sorted(order)
    source = next(a for a in page.links if a["text"].strip() == "Source")
    assert source["href"] == "http://127.0.0.1:9/post/council-vote.html"
    assert source["rel"] == "nofollow noopener"
    assert '<link rel="canonical" href="http://news.test/fr/a/' in html
    hreflangs = {
        h["hreflang"] for h in page.heads if h.get("rel") == "alternate" and "hreflang" in h
    }
    assert hreflangs == {"en", "es", "de", "fr", "it", "uk", "x-default"}


async def test_route_note_in_every_translated_language(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    r = await client.get(f"/en/a/{seeded.french}", follow_redirects=True)
    assert "Machine translation from French by apertium fr→es→en" in r.text
    assert "The mayor praised the work of the night crews." in r.text
    r = await client.get(f"/es/a/{seeded.french}", follow_redirects=True)
    assert "Traducción automática del francés con apertium fr→es" in r.text


@pytest.mark.parametrize(
    ("lang", "note"),
    [
        ("de", "Kein Übersetzungsprogramm deckt Französisch → Deutsch ab"),
        ("it", "La traduzione (lingua: italiano) non è riuscita"),
        ("uk", "Перекладу ще немає (мова: українська)"),
    ],
)
async def test_untranslated_language_shows_the_original_with_a_note(
    client: httpx.AsyncClient, seeded: Seeded, lang: str, note: str
) -> None:
    r = await client.get(f"/{lang}/a/{seeded.french}", follow_redirects=True)
    assert r.status_code == 200
    assert note in r.text
    page = Page(r.text)
    assert page.html_lang == lang
    # the body is the French original, marked as French
    assert '<article class="story" lang="fr">' in r.text
    assert "Le maire a salué le travail des équipes de nuit." in page.text("body")


async def test_original_language_page_has_no_translation_note(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    r = await client.get(f"/fr/a/{seeded.french}", follow_redirects=True)
    assert "Traduction automatique" not in r.text
    assert "Lire l’original" not in r.text
    assert "Les bateaux de pêche" in r.text


async def test_source_page_and_pagination_limits(client: httpx.AsyncClient, seeded: Seeded) -> None:
    r = await client.get(f"/it/source/{seeded.source_id}")
    assert r.status_code == 200
    assert "Articoli di Gazette de l&#39;Estuaire" in r.text
    assert "Council votes" not in r.text
    assert (await client.get("/it/source/999")).status_code == 404
    assert (await client.get("/en/page/9/")).status_code == 404


async def test_not_found_pages_speak_the_language(client: httpx.AsyncClient) -> None:
    r = await client.get("/de/a/999999/nope")
    assert r.status_code == 404
    assert "Seite nicht gefunden" in r.text
    r = await client.get("/de/a/not-a-number/nope")
    assert r.status_code == 404
    assert (await client.get("/xx/")).status_code == 404


async def test_hostile_text_is_escaped_on_every_page(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    urls = [f"/{lang}/" for lang in ("en", "fr", "de")]
    urls += [f"/{lang}/a/{seeded.hostile}" for lang in ("en", "es", "de", "fr", "it", "uk")]
    urls += [f"/fr/source/{seeded.source_id}", "/en/search?q=port", "/fr/search?q=quai"]
    for url in urls:
        r = await client.get(url, follow_redirects=True)
        assert r.status_code == 200, url
        for marker in SCRIPT_MARKERS:
            assert marker not in r.text, (url, marker)
    r = await client.get(f"/en/a/{seeded.hostile}", follow_redirects=True)
    assert (
        "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt; The &lt;b&gt;port&lt;/b&gt; closes"
        in r.text
    )


async def test_security_headers(client: httpx.AsyncClient, seeded: Seeded) -> None:
    for url in ("/en/", f"/en/a/{seeded.french}", "/api/v1/sources", "/en/feed.xml"):
        r = await client.get(url)
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"]
    r = await client.get("/en/")
    assert not re.search(r"<script|style=|<style", r.text)


async def test_conditional_get(client: httpx.AsyncClient, seeded: Seeded) -> None:
    for url in ("/en/", f"/fr/a/{seeded.french}", "/fr/feed.xml", "/sitemap.xml"):
        r = await client.get(url, follow_redirects=True)
        assert r.status_code == 200
        etag, modified = r.headers["etag"], r.headers["last-modified"]
        again = await client.get(str(r.url), headers={"if-none-match": etag})
        assert again.status_code == 304 and again.content == b""
        since = await client.get(str(r.url), headers={"if-modified-since": modified})
        assert since.status_code == 304
        stale = await client.get(str(r.url), headers={"if-none-match": '"other"'})
        assert stale.status_code == 200 and stale.content == r.content


async def test_cache_follows_new_translations(
    client: httpx.AsyncClient, seeded: Seeded, site_engine: object
) -> None:
    import time

    from tests.web.conftest import add_translation

    r = await client.get(f"/uk/a/{seeded.french}", follow_redirects=True)
    assert "Перекладу ще немає" in r.text
    add_translation(
        site_engine,  # type: ignore[arg-type]
        seeded.french,
        "uk",
        "translated",
        title="Шлюз порту знову відкрито",
        paragraphs=["Рибальські човни повернулися.", "Мер подякував нічним бригадам."],
        route="apertium fr→es→en→uk",
    )
    time.sleep(1.1)  # the data version is re-read at most once a second
    r = await client.get(f"/uk/a/{seeded.french}", follow_redirects=True)
    assert "Шлюз порту знову відкрито" in r.text
    assert "Машинний переклад (мова оригіналу: французька)" in r.text


async def test_healthz_and_static(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    css = await client.get("/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


async def test_cached_pages_are_served_gzipped_to_clients_that_accept_it(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    import gzip

    first = await client.get(f"/fr/a/{seeded.french}", follow_redirects=True)
    url = str(first.url)
    plain = await client.get(url, headers={"accept-encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    # Raw bytes: ask through a stream so httpx does not decode them.
    async with client.stream("GET", url, headers={"accept-encoding": "gzip"}) as zipped:
        raw = b"".join([chunk async for chunk in zipped.aiter_raw()])
        headers = zipped.headers
    assert headers["content-encoding"] == "gzip" and headers["vary"] == "Accept-Encoding"
    assert int(headers["content-length"]) == len(raw) < len(plain.content)
    assert gzip.decompress(raw) == plain.content
    assert headers["etag"] != plain.headers["etag"]
    refused = await client.get(url, headers={"accept-encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused.headers
    again = await client.get(
        url, headers={"accept-encoding": "gzip", "if-none-match": headers["etag"]}
    )
    assert again.status_code == 304 and "content-encoding" not in again.headers
    other = await client.get(
        url, headers={"accept-encoding": "identity", "if-none-match": headers["etag"]}
    )
    assert other.status_code == 200 and other.content == plain.content
