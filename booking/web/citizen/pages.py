"""What several citizen pages share: the calendar of free times, the messages for a time
taken meanwhile, the start a form carries."""

from __future__ import annotations

from datetime import datetime

from flask import Response, abort, render_template, request
from flask_babel import gettext

from booking.extensions import htmx
from booking.i18n import current_language
from booking.offices.models import Office, Service
from booking.scheduling import holds, operations, visits
from booking.scheduling.errors import AppointmentCancelled, DeadlinePassed, SlotTaken
from booking.web import fairness, validation
from booking.web.citizen.calendar import month_bounds, month_grid, parse_month


def conflict_message(exc: Exception) -> str:
    if isinstance(exc, SlotTaken):
        return gettext("Sorry, this time was just booked by someone else. "
                       "Please choose another time.")
    if isinstance(exc, DeadlinePassed):
        return gettext("The appointment can no longer be changed online. "
                       "Please contact the office.")
    if isinstance(exc, AppointmentCancelled):
        return gettext("This appointment was cancelled.")
    if isinstance(exc, holds.NotConfirmed):
        return gettext("Please confirm the appointment first, with the link in the email "
                       "we sent you.")
    return gettext("This time can no longer be booked. Please choose another time.")


def parse_start(value: str | None) -> datetime:
    try:
        return validation.parse_start(value)
    except ValueError:
        abort(400)


def calendar_context(office: Office, service: Service, now: datetime, time_endpoint: str,
                      nav_endpoint: str, lines=None, booked=False, **url_values) -> dict:
    """Month view with days that have free slots, and the free times of the chosen day;
    for the visit ``lines`` (default: ``service`` for one person; ``booked``: an
    appointment's, moved)."""
    today, last_bookable = operations.default_range(office, now)
    try:
        selected = validation.parse_day(request.args.get("day"), "day")
    except ValueError:
        selected = None
    first = parse_month(request.args.get("month"), selected or today)
    month_first, month_last = month_bounds(first)
    free = operations.list_free_slots(office, lines or visits.single(service), now, month_first,
                                       month_last, booked=booked)
    tz = office.tz
    free_days = {s.start_at.astimezone(tz).date() for s in free}
    if selected is None and request.args.get("month") is None and free_days:
        selected = min(free_days)
    times = [s for s in free if s.start_at.astimezone(tz).date() == selected]
    return {
        "office": office,
        "service": service,
        "service_name": service.text("name", current_language()),
        "month": month_grid(month_first, free_days, selected, today, last_bookable),
        "selected": selected,
        "times": times,
        "time_endpoint": time_endpoint,
        "nav_endpoint": nav_endpoint,
        "url_values": url_values,
        "has_any": bool(free_days),
        "last_bookable": last_bookable,
        "release_rule": fairness.release_rule(office),
    }


def render_calendar(template: str, ctx: dict, status: int = 200):
    if htmx and not htmx.history_restore_request and request.args.get("partial") != "0":
        response = Response(render_template("citizen/_calendar.html", **ctx), status)
    else:
        response = Response(render_template(template, **ctx), status)
    response.vary.update(("HX-Request", "HX-History-Restore-Request"))
    return response
