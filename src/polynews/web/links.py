"""The site's URL scheme, and how one page links to another when served or exported.

Every page has a site path (``/fr/a/12/la-une``). Served, links are those paths. In a
static export each page is a directory with an ``index.html``, and links are relative
(``../../../../de/a/12/die-titelseite/index.html``) so the files work from any host or
straight from disk. Canonical and hreflang links are always absolute (``base_url``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

_NON_WORD = re.compile(r"[^a-z0-9]+")
# Letters that Unicode decomposition does not reduce to ASCII.
_LIGATURES = str.maketrans(
    {
        "œ": "oe",
        "Œ": "Oe",
        "æ": "ae",
        "Æ": "Ae",
        "ß": "ss",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
    }
)

SWITCH_PARAM = "switch"
"""Query parameter the language switcher adds; the server then remembers the choice."""


def slugify(title: str, *, fallback: str = "article", max_length: int = 60) -> str:
    """An ASCII slug for a title ('Élections à Lyon' -> 'elections-a-lyon')."""
    ascii_text = (
        unicodedata.normalize("NFKD", title.translate(_LIGATURES))
        .encode("ascii", "ignore")
        .decode("ascii")
    )
    slug = _NON_WORD.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0] or slug[:max_length]
    return slug or fallback


def article_slug(title: str, original_title: str, article_id: int) -> str:
    """The slug of an article page: from its title in the page's language, else the original's."""
    return slugify(title, fallback=slugify(original_title, fallback=f"article-{article_id}"))


def home_path(lang: str, page: int = 1) -> str:
    """The latest-articles list in ``lang``."""
    return f"/{lang}/" if page <= 1 else f"/{lang}/page/{page}/"


def article_path(lang: str, article_id: int, slug: str) -> str:
    """An article page."""
    return f"/{lang}/a/{article_id}/{slug}"


def source_path(lang: str, source_id: int, page: int = 1) -> str:
    """An outlet's articles."""
    base = f"/{lang}/source/{source_id}"
    return base if page <= 1 else f"{base}/page/{page}"


def search_path(lang: str) -> str:
    """The search page of ``lang``."""
    return f"/{lang}/search"


def feed_path(lang: str, kind: str = "rss") -> str:
    """The RSS 2.0 (``rss``) or Atom (``atom``) feed of ``lang``."""
    return f"/{lang}/feed.xml" if kind == "rss" else f"/{lang}/atom.xml"


def story_path(lang: str, story_id: int, slug: str) -> str:
    """A story page: one event across outlets and languages."""
    return f"/{lang}/s/{story_id}/{slug}"


def story_feed_path(lang: str, kind: str = "rss") -> str:
    """The RSS 2.0 (``rss``) or Atom (``atom``) feed of the stories of ``lang``."""
    return f"/{lang}/stories/feed.xml" if kind == "rss" else f"/{lang}/stories/atom.xml"


def _is_file(path: str) -> bool:
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return "." in last and not path.endswith("/")


def export_file(path: str) -> str:
    """The file (relative to the export root) that holds the page at ``path``."""
    clean = path.strip("/")
    if _is_file(path):
        return clean
    return f"{clean}/index.html" if clean else "index.html"


@dataclass(frozen=True)
class Links:
    """Builds hrefs for one page at ``here`` (a site path)."""

    base_url: str  # absolute, without a trailing slash
    here: str = "/"
    export: bool = False

    def href(self, path: str) -> str:
        """A link from this page to the site path ``path``."""
        if not self.export:
            return quote(path, safe="/:?=&%")
        here = self.here if self.here.endswith("/") or _is_file(self.here) else self.here + "/"
        depth = here.strip("/").count("/") + (0 if _is_file(here) or here == "/" else 1)
        if _is_file(here):
            depth = here.strip("/").count("/")
        return "../" * depth + export_file(path)

    def absolute(self, path: str) -> str:
        """The absolute URL of ``path`` (canonical links, feeds, sitemaps)."""
        return self.base_url + quote(path, safe="/:?=&%")

    def at(self, here: str) -> Links:
        """The same scheme for another page."""
        return Links(self.base_url, here, self.export)
