"""The site's words in each language: gettext catalogs, language names, dates, negotiation.

The catalogs are the ``.po`` files under ``web/locale/<lang>/LC_MESSAGES/messages.po``,
written for the project. They are compiled in memory with Babel when the site starts,
so no ``msgfmt`` is needed anywhere.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


@cache
def _catalog(lang: str) -> NullTranslations:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        log.warning("no ui catalog lang=%s path=%s; showing English strings", lang, path)
        return NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def _locale(lang: str) -> Locale:
    try:
        return Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


class UI:
    """Everything a page needs to speak ``lang``: strings, language names, dates."""

    def __init__(self, lang: str, time_zone: str = "UTC") -> None:
        self.lang = lang
        self.locale = _locale(lang)
        self.zone = ZoneInfo(time_zone)
        self.zone_label = "UTC" if time_zone in ("UTC", "Etc/UTC") else time_zone
        self._t = _catalog(lang)

    def gettext(self, message: str, **values: object) -> str:
        """The translation of ``message``, with ``%(name)s`` placeholders filled."""
        out = self._t.gettext(message)
        return out % values if values else out

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        """The singular or plural form for ``n``; ``%(n)s`` and other placeholders filled."""
        out = self._t.ngettext(singular, plural, n)
        return out % {"n": n, **values}

    def language_name(self, code: str | None) -> str:
        """The name of language ``code`` in this page's language ('French', 'francese')."""
        if not code:
            return self.gettext("an unknown language")
        return self.locale.languages.get(code) or code

    def datetime(self, value: dt.datetime | None) -> str:
        """``28 octobre 2025 11:47 UTC``: long date, 24-hour time, the zone stated."""
        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        local = value.astimezone(self.zone)
        date = format_date(local, "long", locale=self.locale)
        time = format_time(local, "HH:mm", locale=self.locale)
        return f"{date} {time} {self.zone_label}"

    def delay(self, value: dt.timedelta) -> str:
        """A duration in words of this language ('2 hours', '2 Stunden'), to the minute."""
        return format_timedelta(value, granularity="minute", locale=self.locale)

    def number(self, value: float) -> str:
        """A number written the way this language writes it ('10,000', '10 000')."""
        return format_decimal(value, locale=self.locale)

    def date(self, value: dt.datetime | None) -> str:
        """The date alone, in the medium form of this language."""
        if value is None:
            return ""
        return format_date(value.astimezone(self.zone), "medium", locale=self.locale)


def switcher_label(lang: str) -> str:
    """The switcher's short label: the language's own name, two letters ('Fr', 'Ук')."""
    name = _locale(lang).get_language_name(lang) or lang
    return name[:2].capitalize()


def own_name(lang: str) -> str:
    """The language's name in itself ('français'), for the switcher's accessible label."""
    return _locale(lang).get_language_name(lang) or lang


def parse_accept_language(header: str) -> list[str]:
    """Primary language codes from an Accept-Language header, best first; q=0 dropped."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, index, tag.split("-")[0]))
    return [code for _q, _i, code in sorted(ranked)]


def negotiate(
    languages: Sequence[str], *, cookie: str | None = None, accept_language: str = ""
) -> str:
    """The visitor's site language: the switcher's cookie, then Accept-Language, then the first."""
    if cookie in languages:
        assert cookie is not None
        return cookie
    for code in parse_accept_language(accept_language):
        if code in languages:
            return code
    return languages[0]


def check_catalogs(languages: Iterable[str]) -> list[str]:
    """Site languages that have no catalog (shown in English); logged once at start-up."""
    missing = [
        lang
        for lang in languages
        if lang != "en" and not (LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").is_file()
    ]
    for lang in missing:
        log.warning("no ui catalog lang=%s; its pages use English strings", lang)
    return missing
