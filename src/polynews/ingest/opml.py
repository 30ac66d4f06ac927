"""OPML import and export: the list of feeds other readers hand over, and what we hand back.

Folders (outlines without ``xmlUrl``) are flattened: each feed carries the path of the
folders it was in as its ``category`` ("World / Europe"). Writing puts each category
back as one folder, so ``parse_opml(write_opml(x)) == x``.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from polynews.errors import ParseError, SourceError
from polynews.ingest.normalize import absolute_http_url, clean_text, normalise_language
from polynews.ingest.xmlsafety import local_name, parse_xml

logger = logging.getLogger(__name__)

CATEGORY_SEPARATOR = " / "


@dataclass(frozen=True)
class OpmlOutline:
    """One feed listed in an OPML file."""

    xml_url: str
    title: str | None = None
    html_url: str | None = None
    category: str | None = None  # folder path, joined with " / "
    language: str | None = None  # ISO 639-1


def parse_opml(text: bytes, *, name: str = "OPML document") -> list[OpmlOutline]:
    """Every feed outline of an OPML 1.0/2.0 document, folders flattened into ``category``.

    ``name`` says which document this is in error messages (a file name, a URL).
    Outlines whose ``xmlUrl`` is not an http(s) URL are skipped with a warning.
    """
    root = parse_xml(text, document=name).root
    if local_name(root.tag).lower() != "opml":
        raise ParseError(
            f"{name}: root element is <{local_name(root.tag)}>, expected <opml>; "
            "export the subscription list from your reader as OPML"
        )
    body = next((child for child in root if local_name(child.tag).lower() == "body"), None)
    if body is None:
        raise ParseError(f"{name}: <opml> has no <body>, so it lists no feeds")

    outlines: list[OpmlOutline] = []
    seen: set[str] = set()
    skipped: list[str] = []
    for attrs, path in _walk(body, ()):
        raw_url = attrs.get("xmlurl", "").strip()
        url = absolute_http_url(_without_feed_scheme(raw_url), base_url="")
        if url is None:
            skipped.append(raw_url)
            continue
        if url in seen:
            continue
        seen.add(url)
        category = CATEGORY_SEPARATOR.join(path) or _category_attribute(attrs.get("category"))
        title = clean_text(attrs.get("title") or attrs.get("text") or "")
        outlines.append(
            OpmlOutline(
                xml_url=url,
                # Readers fill text= with the URL when they know no title: that is not one.
                title=title if title and title != raw_url else None,
                html_url=absolute_http_url(attrs.get("htmlurl"), base_url=""),
                category=category or None,
                language=normalise_language(attrs.get("language") or attrs.get("lang")),
            )
        )
    if skipped:
        logger.warning(
            "opml outlines skipped document=%s count=%d first=%r reason=%s",
            name,
            len(skipped),
            skipped[0],
            "xmlUrl is not an http(s) URL",
        )
    return outlines


def _walk(
    element: ET.Element, path: tuple[str, ...]
) -> Iterable[tuple[Mapping[str, str], tuple[str, ...]]]:
    """Yield (lower-cased attributes, folder path) of every outline that has an ``xmlUrl``."""
    for child in element:
        if local_name(child.tag).lower() != "outline":
            continue
        attrs = {key.lower(): value for key, value in child.attrib.items()}
        if "xmlurl" in attrs:
            yield attrs, path
            yield from _walk(child, path)
        else:
            folder = clean_text(attrs.get("title") or attrs.get("text") or "")
            yield from _walk(child, (*path, folder) if folder else path)


def _without_feed_scheme(url: str) -> str:
    # Old readers wrote "feed://host/path" or "feed:https://host/path" for subscriptions.
    if url.lower().startswith("feed://"):
        return "http://" + url[7:]
    if url.lower().startswith("feed:"):
        return url[5:]
    return url


def _category_attribute(value: str | None) -> str:
    # OPML 2.0: a comma-separated list of slash-delimited paths; the first one is kept.
    if not value:
        return ""
    first = value.split(",")[0]
    return CATEGORY_SEPARATOR.join(part.strip() for part in first.split("/") if part.strip())


def write_opml(
    sources: Iterable[OpmlOutline], *, title: str, created: datetime | None = None
) -> bytes:
    """An OPML 2.0 document (UTF-8) listing ``sources``, one folder per category."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = clean_text(title)
    if created is not None:
        ET.SubElement(head, "dateCreated").text = format_datetime(created)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for source in sources:
        if absolute_http_url(source.xml_url, base_url="") is None:
            raise SourceError(
                f"cannot export {source.xml_url!r} to OPML: the feed URL is not an http(s) URL"
            )
        parent = body
        category = clean_text(source.category or "")
        if category:
            if category not in folders:
                folders[category] = ET.SubElement(body, "outline", text=category, title=category)
            parent = folders[category]
        label = clean_text(source.title or "") or source.xml_url
        attrs = {"type": "rss", "text": label, "title": label, "xmlUrl": clean_text(source.xml_url)}
        if source.html_url:
            attrs["htmlUrl"] = clean_text(source.html_url)
        if source.language:
            attrs["language"] = source.language
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
