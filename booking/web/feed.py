"""The open live feed (JSON status API and the embeddable widget): language, headers and
the public shape of an office's status. Nothing personal goes into it."""

from __future__ import annotations

from flask import current_app, request

from booking.i18n import LANGUAGES
from booking.queueing.status import OfficeStatus
from booking.web import caching

#: seconds the feed and the widget may be kept by browsers, apps and nginx
MAX_AGE = 5


def feed_language() -> tuple[str, bool]:
    """(language, chosen by Accept-Language): ``?lang=de|en``, else the browser's
    Accept-Language, else German. Unlike the pages, the choice is not remembered in the
    session: the feed stays public and cacheable (one copy per URL and language)."""
    wanted = request.args.get("lang")
    if wanted in LANGUAGES:
        return wanted, False
    return (request.accept_languages.best_match(LANGUAGES)
            or current_app.config["BABEL_DEFAULT_LOCALE"]), True


def public_feed(response, by_accept_language: bool, *, cors: bool = False):
    """Cacheable for :data:`MAX_AGE` seconds with an ETag (304 on a match); CORS open to
    every origin for GET (``cors``)."""
    if by_accept_language:
        response.vary.add("Accept-Language")
    response = caching.public(response, max_age=MAX_AGE)
    if cors:
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _iso(value, tz) -> str | None:
    return value.astimezone(tz).isoformat() if value is not None else None


def status_json(status: OfficeStatus, language: str) -> dict:
    office, tz = status.office, status.office.tz
    return {
        "office": office.id,
        "name": office.name,
        "address": office.address,
        "open": status.opening.is_open,
        "open_until": _iso(status.opening.open_until, tz),
        "next_opening": _iso(status.opening.next_opening, tz),
        "services": [{
            "id": row.service.id,
            "name": row.service.text("name", language),
            "open": row.is_open,
            "waiting": row.waiting,
            "ahead": row.ahead,
            "estimated_wait_minutes": row.estimate,
            "next_free_appointment": _iso(row.next_free.start_at if row.next_free else None,
                                          tz),
        } for row in status.services],
    }
