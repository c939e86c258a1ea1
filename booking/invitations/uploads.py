"""Storing persons to invite: a whole file in one go, or one person at a time.

A file is all or nothing: any bad line, or a person with the same service and due date
that is invited already (in the file or in the database), rejects it, and nothing is
stored. Persons who opted out of invitations for the service are left out. Every upload
is audited, a rejected one too (the caller commits the audit entry despite the error):
who, which file, how many lines, never a person's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError

from booking.audit import log as audit
from booking.db import db
from booking.invitations import optouts
from booking.invitations.csv_file import Person, Problem, read_people, service_lookup
from booking.invitations.models import PENDING, Invitation
from booking.offices.models import Office

CHUNK = 500


class UploadRejected(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


@dataclass(frozen=True)
class Imported:
    lines: int
    imported: int
    opted_out: int  # persons left out: they asked not to be invited for the service


def _existing(people: list[Person]) -> set[tuple]:
    keys: set[tuple] = set()
    for start in range(0, len(people), CHUNK):
        chunk = people[start:start + CHUNK]
        keys.update(tuple(row) for row in db.session.execute(
            select(Invitation.email_key, Invitation.service_id, Invitation.due_date).where(
                tuple_(Invitation.email_key, Invitation.service_id, Invitation.due_date)
                .in_([p.key for p in chunk]))))
    return keys


def _store(office: Office, people: list[Person], now: datetime) -> int:
    """Add the persons not opted out; returns how many were left out."""
    blocked = optouts.opted_out_keys([(p.email_key, p.service_id) for p in people])
    keep = [p for p in people if optouts.key(p.email_key, p.service_id) not in blocked]
    try:
        with db.session.begin_nested():
            db.session.add_all(Invitation(
                office_id=office.id, service_id=p.service_id, name=p.name, email=p.email,
                email_key=p.email_key, due_date=p.due_date, language=p.language,
                status=PENDING, created_at=now) for p in keep)
            db.session.flush()
    except IntegrityError:  # stored by a concurrent upload meanwhile
        raise UploadRejected([Problem(p.line, "email", "duplicate_existing")
                              for p in people if p.key in _existing(people)]
                             or [Problem(0, None, "duplicate_existing")]) from None
    return len(people) - len(keep)


def upload_file(office: Office, data: bytes, filename: str, actor, now: datetime) -> Imported:
    """Import the file's persons for ``office`` (UploadRejected with every problem)."""
    services = service_lookup(office.services)
    people, problems, lines = read_people(data, services, now.astimezone(office.tz).date(),
                                          office.invitation_language)
    if not problems:
        existing = _existing(people)
        problems = [Problem(p.line, "email", "duplicate_existing")
                    for p in people if p.key in existing]
    if not problems:
        try:
            left_out = _store(office, people, now)
        except UploadRejected as exc:
            problems = exc.problems
    after = {"file": filename[:200], "lines": lines}
    if problems:
        audit.record(actor, "invitations.rejected", "office", office.id, office_id=office.id,
                     after={**after, "errors": len(problems)}, now=now)
        db.session.flush()
        raise UploadRejected(problems)
    audit.record(actor, "invitations.uploaded", "office", office.id, office_id=office.id,
                 after={**after, "imported": len(people) - left_out, "opted_out": left_out},
                 now=now)
    db.session.flush()
    return Imported(lines, len(people) - left_out, left_out)


class AlreadyInvited(Exception):
    pass


class OptedOut(Exception):
    pass


def add_person(office: Office, name: str, email: str, service_id: str, due_date: date,
               language: str, actor, now: datetime) -> Invitation:
    """One person, entered in the back office (the caller checked the fields and that
    the office offers the service)."""
    from booking.fairness.emails import normalise_email

    person = Person(0, name, email, normalise_email(email), service_id, due_date, language)
    if _existing([person]):
        raise AlreadyInvited()
    if optouts.is_opted_out(person.email_key, service_id):
        raise OptedOut()
    invitation = Invitation(office_id=office.id, service_id=service_id, name=name,
                            email=email, email_key=person.email_key, due_date=due_date,
                            language=language, status=PENDING, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(invitation)
            db.session.flush()
    except IntegrityError:
        raise AlreadyInvited() from None
    audit.record(actor, "invitation.added", "invitation", invitation.id, office_id=office.id,
                 after={"service_id": service_id, "due_date": due_date.isoformat()}, now=now)
    db.session.flush()
    return invitation


def get_office_invitations(office: Office, limit: int = 200) -> list[Invitation]:
    """The office's invitations, newest first (for the back office)."""
    return list(db.session.scalars(
        select(Invitation).where(Invitation.office_id == office.id)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc()).limit(limit)))
