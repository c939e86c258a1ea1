"""The calendar entry of a citizen's appointment, worded in the citizen's language.

One wording for the iMIP part and attachment of the emails and for the "add to
calendar" download of the manage page. Uses the message catalog (``force_locale``),
never the request.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import force_locale, gettext

from booking.calendars.ical import Invitation
from booking.notifications.mime import mail_address
from booking.offices.models import Office, Service
from booking.scheduling.codes import format_code


def ics_filename(code: str) -> str:
    """The file name of the entry as an attachment or download (the booking code only:
    no token, no personal data)."""
    return f"appointment-{format_code(code)}.ics"


def appointment_entry(*, uid: str, sequence: int, start_at: datetime, end_at: datetime,
                      office: Office, service: Service, language: str, code: str, name: str,
                      email: str, manage_url: str | None) -> Invitation:
    """The :class:`Invitation` for an appointment as it is (or was, for an email queued
    earlier); ``manage_url`` goes into the description and URL when given."""
    with force_locale(language):
        lines = [gettext("Booking code: %(code)s", code=format_code(code))]
        bring = service.text("bring", language)
        if bring:
            lines += ["", gettext("Please bring:"), bring]
        if manage_url:
            lines += ["", gettext("Cancel or move your appointment:"), manage_url]
        return Invitation(
            uid=uid,
            sequence=sequence,
            start_at=start_at,
            end_at=end_at,
            summary=gettext("%(service)s – %(office)s", service=service.text("name", language),
                            office=office.name),
            location=office.address,
            description="\n".join(lines),
            organizer_email=mail_address(office.email),
            organizer_name=office.name,
            # the same address as in the email's To: clients match ATTENDEE against it
            attendee_email=mail_address(email),
            attendee_name=name,
            language=language,
            url=manage_url,
            alarm_text=gettext("Appointment at %(office)s", office=office.name),
        )
