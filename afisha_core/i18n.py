"""Message catalogues and CLDR formatting for everything a person reads.

The shipped catalogues are gettext ``.po`` files under ``afisha_core/locales/<locale>/
LC_MESSAGES/afisha.po`` (``en`` and ``ru``), read at run time with Babel (no compile
step). Message ids are stable keys (``email.reminder.subject``); the English catalogue
holds the English text like any other language. Placeholders are ``{name}`` fields
filled with :meth:`str.format`.

An embedder overrides any text, or adds a language, with catalogue directories laid
out the same way (``<dir>/<locale>/LC_MESSAGES/afisha.po``), listed in
:attr:`Settings.locale_dirs <afisha_core.settings.Settings.locale_dirs>`: a message
found there wins over the shipped one; a message missing there falls back to the
shipped catalogue of that language, then to English.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_timezone_location
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

__all__ = [
    "DEFAULT_LOCALE",
    "DOMAIN",
    "SHIPPED_LOCALES",
    "Translator",
    "format_instant",
    "format_period",
    "is_locale_tag",
    "shipped_catalogue_dir",
    "translator",
]

#: The gettext domain of every catalogue file (``afisha.po``).
DOMAIN = "afisha"
#: The languages this package ships catalogues for.
SHIPPED_LOCALES: tuple[str, ...] = ("en", "ru")
#: The language used when nothing else is known.
DEFAULT_LOCALE = "en"

_TAG = re.compile(r"^[a-z]{2,3}(_[A-Z][a-z]{3})?(_[A-Z]{2}|_[0-9]{3})?$")


def is_locale_tag(value: str) -> bool:
    """Whether ``value`` is a well-formed locale identifier Babel knows (``ru``, ``pt_BR``)."""
    if not _TAG.match(value):
        return False
    try:
        Locale.parse(value)
    except (UnknownLocaleError, ValueError):
        return False
    return True


def shipped_catalogue_dir() -> Path:
    """The directory holding the shipped catalogues (``<locale>/LC_MESSAGES/afisha.po``)."""
    return Path(__file__).parent / "locales"


def _load(path: Path, locale: str) -> Translations:
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def _catalogue_files(dirs: Sequence[Path]) -> dict[str, list[Path]]:
    """Each locale's catalogue files, the most specific (last directory) first."""
    found: dict[str, list[Path]] = {}
    for directory in reversed(dirs):
        if not directory.is_dir():
            continue
        for po in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            found.setdefault(po.parent.parent.name, []).append(po)
    return found


class Translator:
    """Gettext lookups per locale over the shipped catalogues and an embedder's ones.

    Build one with :func:`translator` (cached per set of directories).
    """

    def __init__(self, extra_dirs: Iterable[str | Path] = ()) -> None:
        """Load the shipped catalogues, then ``extra_dirs`` (later ones win)."""
        dirs = [shipped_catalogue_dir(), *(Path(d) for d in extra_dirs)]
        files = _catalogue_files(dirs)
        english = self._chain(files.get(DEFAULT_LOCALE, []), DEFAULT_LOCALE, None)
        self._by_locale: dict[str, NullTranslations] = {DEFAULT_LOCALE: english}
        for locale, paths in files.items():
            if locale != DEFAULT_LOCALE and is_locale_tag(locale):
                self._by_locale[locale] = self._chain(paths, locale, english)

    @staticmethod
    def _chain(
        paths: Sequence[Path], locale: str, fallback: NullTranslations | None
    ) -> NullTranslations:
        chain: NullTranslations | None = None
        for path in reversed(paths):  # least specific first, so the last added wins
            loaded = _load(path, locale)
            if chain is not None:
                loaded.add_fallback(chain)
            chain = loaded
        if chain is None:
            return fallback if fallback is not None else NullTranslations()
        if fallback is not None:
            # add_fallback appends at the end of the chain.
            chain.add_fallback(fallback)
        return chain

    @property
    def locales(self) -> tuple[str, ...]:
        """Every language with a catalogue, sorted."""
        return tuple(sorted(self._by_locale))

    def resolve(self, locale: str | None) -> str:
        """``locale`` if it has a catalogue, else its language (``ru_RU``: ``ru``), else English."""
        if locale in self._by_locale:
            return locale
        if locale:
            language = locale.replace("-", "_").split("_")[0].lower()
            if language in self._by_locale:
                return language
        return DEFAULT_LOCALE

    def negotiate(self, accept_language: str | None) -> str | None:
        """The best language with a catalogue for an ``Accept-Language`` header, if any."""
        if not accept_language:
            return None
        weighted: list[tuple[float, int, str]] = []
        for index, part in enumerate(accept_language.split(",")):
            tag, _, params = part.strip().partition(";")
            quality = 1.0
            params = params.strip()
            if params.startswith("q="):
                try:
                    quality = float(params[2:])
                except ValueError:
                    continue
            if tag and quality > 0:
                weighted.append((-quality, index, tag.strip()))
        for _, _, tag in sorted(weighted):
            if tag == "*":
                return None
            normal = tag.replace("-", "_")
            if normal in self._by_locale:
                return normal
            language = normal.split("_")[0].lower()
            if language in self._by_locale:
                return language
        return None

    def gettext(self, locale: str, msgid: str, /, **values: object) -> str:
        """The text of ``msgid`` in ``locale``, its ``{placeholders}`` filled from ``values``."""
        text = self._by_locale[self.resolve(locale)].gettext(msgid)
        return text.format(**values) if values else text

    def ngettext(self, locale: str, msgid: str, count: int, /, **values: object) -> str:
        """The plural form of ``msgid`` for ``count`` in ``locale`` (``{count}`` is filled too)."""
        text = self._by_locale[self.resolve(locale)].ngettext(msgid, msgid, count)
        return text.format(count=count, **values)


@functools.cache
def _cached(dirs: tuple[str, ...]) -> Translator:
    return Translator(dirs)


def translator(extra_dirs: Iterable[str | Path] = ()) -> Translator:
    """The :class:`Translator` for the shipped catalogues plus ``extra_dirs`` (cached)."""
    return _cached(tuple(str(d) for d in extra_dirs))


def _place(zone: ZoneInfo, locale: str) -> str:
    if zone.key in {"UTC", "Etc/UTC"}:
        return "UTC"
    return get_timezone_location(zone, locale=locale, return_city=True)


def _time(at: datetime, zone: ZoneInfo, locale: str) -> str:
    return format_time(at, "short", tzinfo=zone, locale=locale)


def format_period(starts_at: datetime, ends_at: datetime, timezone: str, locale: str) -> str:
    """A period in ``timezone`` with CLDR data for ``locale``.

    For example (``ru``, then ``en``):

    ``пятница, 4 декабря 2026 ... 19:00–21:00 (Москва)`` (with the year mark);
    ``Friday, December 4, 2026, 7:00 PM–9:00 PM (Moscow)``.
    """
    zone = ZoneInfo(timezone)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    first = f"{format_date(start, 'full', locale=locale)}, {_time(start, zone, locale)}"
    if start.date() == end.date():
        period = f"{first}–{_time(end, zone, locale)}"
    else:
        last = f"{format_date(end, 'full', locale=locale)}, {_time(end, zone, locale)}"
        period = f"{first} – {last}"
    return f"{period} ({_place(zone, locale)})"


def format_instant(at: datetime, timezone: str, locale: str) -> str:
    """One instant in ``timezone`` with CLDR data for ``locale``."""
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    date = format_date(local, "full", locale=locale)
    time = format_time(local, "short", tzinfo=zone, locale=locale)
    return f"{date}, {time} ({_place(zone, locale)})"
