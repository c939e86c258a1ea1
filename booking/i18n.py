"""Language choice and locale-aware formatting.

German is the default; English is complete. The language comes from ``?lang=``
(remembered in the session), else the browser's Accept-Language (the response then
says ``Vary: Accept-Language``), else German.

The language is a bare code ("de", "en": page ``lang``, stored with a booking, service
texts); dates, times and amounts are formatted in :data:`FORMAT_LOCALES`' locale for it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time, parse_pattern
from babel.numbers import format_currency
from flask import after_this_request, current_app, request, session
from flask_babel import force_locale, get_locale, gettext

LANGUAGES = ("de", "en")
# A German town's English pages write dates the British way ("Saturday, 6 February
# 2027"), whichever English the browser asked for; Babel's bare "en" is US English.
FORMAT_LOCALES = {"de": "de_DE", "en": "en_GB"}


def select_locale() -> str:
    wanted = request.args.get("lang")
    if wanted in LANGUAGES:
        session["lang"] = wanted
        return wanted
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    after_this_request(_vary_by_accept_language)
    return request.accept_languages.best_match(LANGUAGES) or current_app.config[
        "BABEL_DEFAULT_LOCALE"
    ]


def current_language() -> str:
    """The language of the page being answered (one of :data:`LANGUAGES`)."""
    language = str(get_locale() or "de")
    return language if language in LANGUAGES else "de"


def _vary_by_accept_language(response):
    response.vary.add("Accept-Language")  # caches keep one copy per language asked for
    return response


def format_locale(language: str) -> str:
    """The Babel locale that formats dates, times and amounts for ``language``."""
    return FORMAT_LOCALES.get(language, language)


def local_datetime(value: datetime, tz: ZoneInfo, language: str) -> str:
    """e.g. 'Dienstag, 1. Dezember 2026, 09:00' in the office's time zone."""
    day = format_date(value.astimezone(tz), format="full", locale=format_locale(language))
    return f"{day}, {local_time(value, tz, language)}"


def local_time(value: datetime, tz: ZoneInfo, language: str) -> str:
    return format_time(value.astimezone(tz), format="HH:mm", locale=format_locale(language))


def local_date(value, language: str, fmt: str = "full") -> str:
    return format_date(value, format=fmt, locale=format_locale(language))


def local_stamp(value: datetime, tz: ZoneInfo, language: str) -> str:
    return format_datetime(value.astimezone(tz), format="medium", locale=format_locale(language))


def fee(cents: int | None, language: str) -> str | None:
    if cents is None:
        return None
    return format_currency(cents / 100, "EUR", locale=format_locale(language))


def date_range(first: date, last: date, language: str) -> str:
    """Days with the month in full, shared parts once: '24.–26. Dezember 2026',
    '30. Dezember 2026 – 2. Januar 2027'; one day: '24. Dezember 2026'."""
    if first == last:
        return format_date(first, format="long", locale=format_locale(language))
    locale = Locale.parse(format_locale(language))
    field = "y" if first.year != last.year else "M" if first.month != last.month else "d"
    # CLDR has interval patterns for abbreviated months only: spell the month out
    halves = locale.interval_formats["yMMMd"][field]
    return "".join(parse_pattern(re.sub(r"(?<!M)MMM(?!M)", "MMMM", half)).apply(day, locale)
                   for half, day in zip(halves, (first, last), strict=True))


def period(starts_at: datetime, ends_at: datetime, tz: ZoneInfo, language: str) -> str:
    """A closure's time in the office's time zone, whole days as such:
    '24. Dezember 2026, ganztägig', '24.–26. Dezember 2026, ganztägig',
    '24. Dezember 2026, 08:00–12:00' (to midnight: '14:00–24:00'),
    '24. Dezember 2026, 14:00 – 25. Dezember 2026, 10:00'."""
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    first = start.date()
    last = end.date() - timedelta(days=1) if end.time() == time.min else end.date()
    if start.time() == time.min and end.time() == time.min and last >= first:
        with force_locale(language):
            return gettext("%(days)s, all day", days=date_range(first, last, language))
    start_time = local_time(start, tz, language)
    end_time = "24:00" if end.time() == time.min else local_time(end, tz, language)
    day = format_date(first, format="long", locale=format_locale(language))
    if last == first:
        return f"{day}, {start_time}–{end_time}"
    end_day = format_date(last, format="long", locale=format_locale(language))
    return f"{day}, {start_time} – {end_day}, {end_time}"
