"""The widget pages: one office, or every office. Public and cacheable like the JSON
feed; refreshed by the browser once a minute; framed only by WIDGET_FRAME_ANCESTORS."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, current_app, g, render_template, url_for
from flask_babel import force_locale, gettext, ngettext

from booking import i18n
from booking.db import db, utcnow
from booking.offices.models import Office
from booking.queueing import status
from booking.web import feed
from booking.web.widget import bp

REFRESH_SECONDS = 60


@dataclass(frozen=True)
class Row:
    service: str
    waiting: int
    wait: str
    next_free: str | None  # the first free appointment, as shown; None: none
    book_url: str


@dataclass(frozen=True)
class Panel:
    office_id: str
    name: str
    opening: str
    rows: list[Row]


def _opening_text(found: status.OfficeStatus, language: str) -> str:
    tz, state = found.office.tz, found.opening
    if state.is_open:
        if state.open_until is None:
            return gettext("Open now.")
        return gettext("Open now until %(time)s.",
                       time=i18n.local_time(state.open_until, tz, language))
    if state.next_opening is None:
        return gettext("Closed.")
    if state.next_opening.astimezone(tz).date() == found.at.astimezone(tz).date():
        when = i18n.local_time(state.next_opening, tz, language)
    else:
        when = i18n.local_datetime(state.next_opening, tz, language)
    return gettext("Closed. Opens again: %(when)s.", when=when)


def _wait_text(row: status.ServiceStatus) -> str:
    if not row.is_open:
        return gettext("No tickets now")
    if row.estimate is None:
        return gettext("Cannot be estimated now")
    if row.estimate == 0:
        return gettext("No wait")
    return ngettext("about %(num)s minute", "about %(num)s minutes", row.estimate)


def _panel(found: status.OfficeStatus, language: str) -> Panel:
    tz = found.office.tz
    rows = [Row(row.service.text("name", language), row.waiting, _wait_text(row),
                i18n.local_datetime(row.next_free.start_at, tz, language)
                if row.next_free else None,
                url_for("citizen.calendar", office_id=found.office.id,
                        service_id=row.service.id, lang=language))
            for row in found.services]
    return Panel(found.office.id, found.office.name, _opening_text(found, language), rows)


def _render(statuses, language: str, by_header: bool, single: bool):
    g.frameable = True  # booking.web: CSP frame-ancestors from the setting, no X-Frame-Options
    now = utcnow()
    with force_locale(language):
        panels = [_panel(found, language) for found in statuses]
        stamp = (i18n.local_time(now, statuses[0].office.tz, language) if statuses else None)
        html = render_template("widget/status.html", panels=panels, lang=language,
                               single=single, refresh=REFRESH_SECONDS, stamp=stamp)
    return feed.public_feed(current_app.make_response(html), by_header)


@bp.get("/offices/<office_id>/status")
def office_status(office_id: str):
    language, by_header = feed.feed_language()
    office = db.session.get(Office, office_id) if len(office_id) <= 40 else None
    if office is None:
        with force_locale(language):
            abort(404, gettext("Unknown office."))
    found = status.get_office_status(office, utcnow(),
                                     always_open=current_app.config["QUEUE_ALWAYS_OPEN"])
    return _render([found], language, by_header, single=True)


@bp.get("/status")
def all_status():
    language, by_header = feed.feed_language()
    found = status.get_all_statuses(utcnow(), always_open=current_app.config["QUEUE_ALWAYS_OPEN"])
    return _render(found, language, by_header, single=False)
