"""What the staff appointment pages share: an appointment as a table row, labels, the
message for a refused change, day links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import abort, request, url_for
from flask_babel import gettext

from booking.db import utcnow
from booking.offices.models import Office
from booking.scheduling import staff_operations as staff_ops
from booking.scheduling import visit_texts
from booking.scheduling.codes import format_code
from booking.scheduling.errors import (
    AppointmentCancelled,
    DeadlinePassed,
    KeyReused,
    ServiceNotOffered,
    SlotTaken,
    VisitNotAllowed,
)
from booking.scheduling.models import ARRIVED, CANCELLED, CONFIRMED, HELD, NO_SHOW, ONLINE, PHONE
from booking.web import visit_input


def today(office: Office) -> date:
    return utcnow().astimezone(office.tz).date()


def day_links(endpoint: str, day: date, **values) -> dict[str, str]:
    """``prev_url`` and ``next_url``: the same page for the day before and after."""
    return {f"{name}_url": url_for(endpoint, date=(day + timedelta(days=step)).isoformat(),
                                   **values) for name, step in (("prev", -1), ("next", 1))}


def _status_label(status: str) -> str:
    return {HELD: gettext("Awaiting the citizen's confirmation"),
            CONFIRMED: gettext("Confirmed"), CANCELLED: gettext("Cancelled"),
            ARRIVED: gettext("Arrived"), NO_SHOW: gettext("No-show")}.get(status, status)


def _channel_label(channel: str) -> str:
    return {ONLINE: gettext("Online"), PHONE: gettext("Phone")}.get(channel, channel)


def message(exc: Exception, appointment=None) -> str:
    if isinstance(exc, staff_ops.NotYetStarted):
        return gettext("A no-show can only be recorded once the start time has passed.")
    if isinstance(exc, staff_ops.InvalidTransition | AppointmentCancelled):
        status = _status_label(appointment.status) if appointment else ""
        return gettext("Only confirmed appointments can be changed. This one is: %(status)s.",
                       status=status)
    if isinstance(exc, SlotTaken):
        return gettext("This time was just booked by someone else. Please choose another time.")
    if isinstance(exc, DeadlinePassed):
        return gettext("The appointment starts too soon to be moved. "
                       "Cancel it and book a new one instead.")
    if isinstance(exc, ServiceNotOffered):
        return gettext("This office does not offer this service.")
    if isinstance(exc, VisitNotAllowed):
        return visit_input.not_allowed_message(exc)
    if isinstance(exc, KeyReused):
        return gettext("This form was already used for a booking with other details. "
                       "To book another appointment, please send it again.")
    return gettext("This time can't be booked. Please choose another time.")


@dataclass(frozen=True)
class Row:
    id: int
    day: date
    time: str
    code: str
    service: str  # all the services, "Reisepass × 3, Wohnsitz anmelden"
    persons: int
    name: str
    channel: str
    status: str
    status_key: str
    can_arrive: bool
    can_no_show: bool
    can_change: bool


def row_of(appointment, now: datetime, lang: str) -> Row:
    tz = appointment.office.tz
    start, end = appointment.start_at.astimezone(tz), appointment.end_at.astimezone(tz)
    return Row(
        id=appointment.id, day=start.date(), time=f"{start:%H:%M}–{end:%H:%M}",
        code=format_code(appointment.code),
        service=visit_texts.summary(appointment.lines, lang), persons=appointment.persons,
        name=appointment.name, channel=_channel_label(appointment.channel),
        status=_status_label(appointment.status), status_key=appointment.status,
        can_arrive=staff_ops.can_mark_arrived(appointment),
        can_no_show=staff_ops.can_mark_no_show(appointment, now),
        can_change=appointment.status == CONFIRMED,
    )


def appointment_or_404(office: Office, appointment_id: int):
    """The office's appointment, locked for a POST (the change that follows)."""
    lock = request.method == "POST"
    return staff_ops.get_office_appointment(office, appointment_id, lock=lock) or abort(404)
