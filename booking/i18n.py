"""Language choice and locale-aware formatting.

German is the default; English is complete. The language comes from ``?lang=``
(remembered in the session), else the browser's Accept-Language (the response then
says ``Vary: Accept-Language``), else German.

The language is a bare code ("de", "en": page ``lang``, stored with a booking, service
texts); dates, times and amounts are formatted in :data:`FORMAT_LOCALES`' locale for it.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency
from flask import after_this_request, current_app, request, session

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
