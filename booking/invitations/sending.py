"""Sending the invitations: each person's email ``Office.invitation_weeks`` weeks before
the due date, from ``flask send-invitations`` and every process's background sender
(booking.jobs), with the clock as an argument.

Each invitation is sent exactly once on any number of processes and servers: one
conditional UPDATE (still ``pending``) marks it sent, with the hash of its link's
token, in the transaction that queues the email; a concurrent sender's UPDATE then
matches nothing. Persons who opted out meanwhile get none (the invitation ends as
opted out); invitations whose due date has passed unsent are not sent any more.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from booking.db import db
from booking.invitations import optouts, stats
from booking.invitations.models import OPTED_OUT, PENDING, SENT, Invitation
from booking.notifications import invitation_mails
from booking.offices.models import Office
from booking.scheduling import codes


def _due(office: Office, now: datetime) -> list[Invitation]:
    today = now.astimezone(office.tz).date()
    return list(db.session.scalars(
        select(Invitation).where(
            Invitation.office_id == office.id, Invitation.status == PENDING,
            Invitation.due_date >= today,
            Invitation.due_date <= today + timedelta(weeks=office.invitation_weeks))
        .order_by(Invitation.due_date, Invitation.id)))


def _mark(invitation: Invitation, now: datetime, **values) -> bool:
    return bool(db.session.execute(
        update(Invitation).where(Invitation.id == invitation.id, Invitation.status == PENDING)
        .values(**values).execution_options(synchronize_session=False)).rowcount)


def send_invitation(invitation: Invitation, now: datetime) -> bool:
    """Queue the invitation's email unless another sender did so first, or the person
    opted out of invitations for the service (then it ends without one)."""
    if optouts.is_opted_out(invitation.email_key, invitation.service_id):
        _mark(invitation, now, status=OPTED_OUT, ended_at=now)
        return False
    token = codes.new_token()
    if not _mark(invitation, now, status=SENT, sent_at=now, token_hash=codes.hash_token(token)):
        return False
    db.session.refresh(invitation)
    invitation_mails.notify_invitation(invitation, token)
    stats.count(invitation.office, invitation.service_id, now, "sent")
    return True


def send_due_invitations(now: datetime) -> int:
    """Queue every invitation now within its office's weeks before the due date;
    returns how many were queued. Only flushes: the caller commits."""
    sent = 0
    for office in db.session.scalars(select(Office).order_by(Office.id)).all():
        for invitation in _due(office, now):
            sent += send_invitation(invitation, now)
    db.session.flush()
    return sent
