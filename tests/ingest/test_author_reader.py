"""The author reader: trafilatura's rules, read in one walk over the tree.

``metadata._marked_author`` replaces ``trafilatura.metadata.extract_author``, which copies the
whole tree and runs XPath expressions calling back into Python for every element. The two
must name the same author on every page; these pages exercise each rule, each place a name
is not (comments, sidebars, dates, figures) and the order between the rules.
"""

from __future__ import annotations

import lxml.html
import pytest
from trafilatura.metadata import extract_author

from polynews.ingest.metadata import _marked_author

PAGES = {
    "rel author link": '<p>Text</p><a rel="author" href="/a">Mira Holt</a>',
    "author name class": '<div class="post-author-name">Jon Vale</div>',
    "AuthorName class": '<span class="AuthorName">Ada Quist</span>',
    "data-testid card": '<div data-testid="AuthorCard">Lena Brook</div>',
    "itemprop author name": '<span itemprop="author name">Tom Reyes</span>',
    "byline class": '<p class="byline">By Carla Nunes</p>',
    "author id": '<h4 id="author-box">Ivo Stark</h4>',
    "submitted-by": '<div class="submitted-by">Posted by Ana Lind</div>',
    "writer, any tag": '<em class="writer-line">Pia Moor</em>',
    "Byline component": '<section data-component="Byline">Eli Fox</section>',
    "author element": "<author>Noa Berg</author>",
    "tier order beats page order": (
        '<span class="contributor-writer">Late Tier</span><a rel="author">First Tier</a>'
    ),
    "in a comment thread": (
        '<div id="comments"><span class="author">Commenter Name</span></div>'
        '<span class="byline">Real Writer</span>'
    ),
    "in a sidebar": (
        '<aside><div class="sidebar-box"><a rel="author">Side Name</a></div></aside>'
        '<p class="author">Body Name</p>'
    ),
    "inside a figure": '<figure><span class="author">Photo Credit</span></figure>',
    "a date inside the byline": (
        '<div class="byline">Rosa Kent <time datetime="2024-05-01">1 May</time> Editor</div>'
    ),
    "too short then good": '<span class="author">Al</span><span class="author">Bea Sol</span>',
    "an address is no name": (
        '<a rel="author">https://example.org/staff</a><p class="byline">Cy Dorn</p>'
    ),
    "Comments class prefix": (
        '<div class="Comments-area"><span class="author">X Y</span></div>'
        '<div class="author">Zed Ray</div>'
    ),
    "no author at all": "<div class='story'><p>Only text here.</p></div>",
}


@pytest.mark.parametrize("body", PAGES.values(), ids=PAGES.keys())
def test_the_author_reader_agrees_with_trafilatura(body: str) -> None:
    html = f"<html><head><title>t</title></head><body><h1>Head</h1>{body}</body></html>"
    ours = _marked_author(lxml.html.fromstring(html))
    assert ours == extract_author(lxml.html.fromstring(html))


def test_the_author_reader_finds_the_marked_name() -> None:
    html = '<html><body><div id="comments"><b class="author">No</b></div>'
    html += '<div class="byline">Gale Morrow</div></body></html>'
    assert _marked_author(lxml.html.fromstring(html)) == "Gale Morrow"
