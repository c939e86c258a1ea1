"""What the invited person does with the link: look at it, book, decline, opt out.

Each change is one conditional UPDATE of an invitation still open (``sent``), so a
double click, two tabs or a mail scanner change it once at most, and each is counted
for the statistics once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from booking.db import db
from booking.invitations import optouts, stats
from booking.invitations.models import BOOKED, DECLINED, OPTED_OUT, PENDING, SENT, Invitation
from booking.scheduling import codes, operations, slots, visits
from booking.scheduling.models import Appointment

SUGGESTIONS = 4


def get_invitation(invitation_id: int, token: str | None) -> Invitation | None:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.token_hash is None \
            or not codes.token_matches(token, invitation.token_hash):
        return None
    return invitation


def _end(invitation: Invitation, now: datetime, status: str, from_status=(SENT,),
         **values) -> bool:
    changed = db.session.execute(
        update(Invitation).where(Invitation.id == invitation.id,
                                 Invitation.status.in_(from_status))
        .values(status=status, ended_at=now, **values)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(invitation)
    return bool(changed)


def mark_booked(invitation: Invitation, appointment: Appointment, now: datetime) -> bool:
    if not _end(invitation, now, BOOKED, appointment_id=appointment.id):
        return False
    stats.count(invitation.office, invitation.service_id, now, "booked")
    db.session.flush()
    return True


def decline(invitation: Invitation, now: datetime) -> bool:
    """The person needs no appointment (for this due date)."""
    if not _end(invitation, now, DECLINED):
        return False
    stats.count(invitation.office, invitation.service_id, now, "declined")
    db.session.flush()
    return True


def opt_out(invitation: Invitation, now: datetime) -> bool:
    """No invitations for this service any more: the opt-out is kept, this invitation
    (if sent or declined) and the person's invitations for the service not yet sent
    end. It works after a booking too (for the future). False if the person had opted
    out already."""
    if not optouts.record(invitation.email_key, invitation.service_id, now):
        return False
    _end(invitation, now, OPTED_OUT, from_status=(SENT, DECLINED))
    db.session.execute(
        update(Invitation).where(Invitation.email_key == invitation.email_key,
                                 Invitation.service_id == invitation.service_id,
                                 Invitation.status == PENDING)
        .values(status=OPTED_OUT, ended_at=now).execution_options(synchronize_session=False))
    stats.count(invitation.office, invitation.service_id, now, "opted_out")
    db.session.flush()
    return True


def has_opted_out(invitation: Invitation) -> bool:
    return optouts.is_opted_out(invitation.email_key, invitation.service_id)


def suggestions(invitation: Invitation, now: datetime,
                count: int = SUGGESTIONS) -> list[slots.FreeSlot]:
    """A few free starts for the person: the first of each of the next days with room
    (a choice of days rather than the times of one morning), first those before the due
    date."""
    office, service = invitation.office, invitation.service
    if service not in office.services:
        return []
    today = now.astimezone(office.tz).date()
    picked: dict = {}
    for last in (max(today + timedelta(days=28), invitation.due_date), None):
        for free in operations.list_free_slots(office, visits.single(service), now, today, last):
            picked.setdefault(free.start_at.astimezone(office.tz).date(), free)
            if len(picked) >= count:
                break
        if len(picked) >= count:
            break
    return sorted(picked.values(), key=lambda s: s.start_at)[:count]
