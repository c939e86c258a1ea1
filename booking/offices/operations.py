"""Configuring offices: settings, services, counters, availability rules and closures.

Every change records an audit entry (before → after) in the same transaction and only
``flush()``es; the acting user and ``now`` are arguments. Nothing here reads the request.

Never silently strand an appointment: a rule change that leaves confirmed future
appointments without a seat (:mod:`booking.offices.rules`), and a closure that falls on
them (:mod:`booking.offices.closures`), need an explicit decision (:class:`DecisionNeeded`)
for exactly the appointments the manager was shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import func, select

from booking.audit import log as audit
from booking.db import db
from booking.offices.models import Counter, Office, Service, office_services
from booking.scheduling import operations
from booking.scheduling.models import BY_OFFICE, CONFIRMED, Appointment

OFFICE_FIELDS = ("name", "address", "email", "phone", "state", "slot_minutes",
                 "lead_time_minutes", "horizon_days", "cancel_deadline_minutes",
                 "feed_shows_names", "queue_window_minutes", "queue_recall_cooldown_seconds",
                 "queue_max_recalls", "queue_daily_limit", "reminder_hours",
                 "waitlist_hold_minutes", "max_active_per_email",
                 "opt_in_hold_minutes", "release_delay_minutes", "release_time",
                 "transport_de", "transport_en", "accessibility_de", "accessibility_en",
                 "step_free", "latitude", "longitude")
# settings that callers may leave out (kept as they are, or defaults for a new office)
OPTIONAL_OFFICE_FIELDS = ("district", "max_persons", "max_services")
SERVICE_FIELDS = ("position", "name_de", "name_en", "description_de", "description_en",
                  "bring_de", "bring_en", "fee_cents", "duration_minutes", "queue_prefix")
# definitions that callers may leave out (kept as they are, or unset for a new service)
OPTIONAL_SERVICE_FIELDS = ("further_person_minutes",)
KEEP, CANCEL = "keep", "cancel"


class ConfigError(ValueError):
    """A change that the office's data does not allow; the web layer words it."""


class DuplicateId(ConfigError):
    pass


class DurationNotMultiple(ConfigError):
    def __init__(self, service: Service, slot_minutes: int):
        super().__init__(f"{service.id}: {service.duration_minutes} min is no multiple of "
                         f"{slot_minutes} min")
        self.service, self.slot_minutes = service, slot_minutes


class SlotLengthLocked(ConfigError):
    def __init__(self, count: int):
        super().__init__(f"{count} confirmed future appointments")
        self.count = count


class DecisionNeeded(ConfigError):
    """Appointments would be stranded or cancelled, and no decision was made for exactly
    these (``keep_refused``: keeping them is impossible here)."""

    def __init__(self, appointments: list[Appointment], keep_refused: bool = False):
        super().__init__(f"{len(appointments)} appointments need a decision")
        self.appointments, self.keep_refused = appointments, keep_refused


def record(actor, action: str, entity: str, entity_id, office_id: str | None,
            before: dict | None, after: dict | None, now: datetime) -> None:
    audit.record(actor, action, entity, entity_id, office_id=office_id, before=before,
                 after=after, now=now)


def ids(objects: Iterable) -> list:
    return sorted(o.id for o in objects)


def get_services(service_ids: Iterable[str]) -> list[Service]:
    ids = list(dict.fromkeys(service_ids))
    if not ids:
        return []
    found = db.session.scalars(select(Service).where(Service.id.in_(ids))).all()
    return sorted(found, key=lambda s: (s.position, s.id))


def count_future_appointments(office: Office, now: datetime) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Appointment).where(
            Appointment.office_id == office.id, Appointment.status == CONFIRMED,
            Appointment.start_at >= now)
    )


# ---------------------------------------------------------------- offices and services

def office_state(office: Office) -> dict:
    combinable = get_combinable(office)
    return {**audit.snapshot(office), "services": ids(office.services),
            "not_combinable": [i for i in ids(office.services) if i not in combinable]}


def get_combinable(office: Office) -> set[str]:
    """The ids of the offered services that may share an appointment with others."""
    return set(db.session.scalars(select(office_services.c.service_id).where(
        office_services.c.office_id == office.id, office_services.c.combinable)))


def _set_combinable(office: Office, service_ids: Iterable[str] | None) -> None:
    """Of the offered services, exactly ``service_ids`` may be combined (None: as they
    are; services newly offered may be)."""
    if service_ids is None:
        return
    wanted = list(service_ids)
    table = office_services.c
    db.session.execute(office_services.update().where(table.office_id == office.id)
                       .values(combinable=table.service_id.in_(wanted)))


def _check_durations(services: Iterable[Service], slot_minutes: int) -> None:
    for service in services:
        if service.duration_minutes % slot_minutes:
            raise DurationNotMultiple(service, slot_minutes)


def create_office(office_id: str, values: Mapping, service_ids: Iterable[str], actor,
                  now: datetime, combinable: Iterable[str] | None = None) -> Office:
    if db.session.get(Office, office_id) is not None:
        raise DuplicateId(office_id)
    services = get_services(service_ids)
    _check_durations(services, values["slot_minutes"])
    office = Office(id=office_id, **{k: values[k] for k in OFFICE_FIELDS},
                    **{k: values[k] for k in OPTIONAL_OFFICE_FIELDS if k in values},
                    services=services)
    db.session.add(office)
    db.session.flush()
    _set_combinable(office, combinable)
    record(actor, "office.created", "office", office.id, office.id, None,
            office_state(office), now)
    return office


def update_office(office: Office, values: Mapping, service_ids: Iterable[str], actor,
                  now: datetime, combinable: Iterable[str] | None = None) -> None:
    """Settings and offered services, and of these the ones that may share an
    appointment with others (``combinable``; None keeps them). The slot length cannot
    change while confirmed future appointments hold seats on the old grid; every offered
    service's duration must be a multiple of it. Appointments of a service no longer
    offered stay as booked."""
    before = office_state(office)
    slot_minutes = values["slot_minutes"]
    if slot_minutes != office.slot_minutes:
        count = count_future_appointments(office, now)
        if count:
            raise SlotLengthLocked(count)
    services = get_services(service_ids)
    _check_durations(services, slot_minutes)
    for key in OFFICE_FIELDS:
        setattr(office, key, values[key])
    for key in OPTIONAL_OFFICE_FIELDS:
        if key in values:
            setattr(office, key, values[key])
    office.services = services
    db.session.flush()
    _set_combinable(office, combinable)
    record(actor, "office.updated", "office", office.id, office.id, before,
            office_state(office), now)


def create_service(service_id: str, values: Mapping, actor, now: datetime) -> Service:
    if db.session.get(Service, service_id) is not None:
        raise DuplicateId(service_id)
    service = Service(id=service_id, **{k: values[k] for k in SERVICE_FIELDS},
                      **{k: values[k] for k in OPTIONAL_SERVICE_FIELDS if k in values})
    db.session.add(service)
    db.session.flush()
    record(actor, "service.created", "service", service.id, None, None,
            audit.snapshot(service), now)
    return service


def update_service(service: Service, values: Mapping, actor, now: datetime) -> None:
    """Service definitions are shared: the duration must fit every office offering it."""
    before = audit.snapshot(service)
    for office in service.offices:
        if values["duration_minutes"] % office.slot_minutes:
            raise DurationNotMultiple(service, office.slot_minutes)
    for key in SERVICE_FIELDS:
        setattr(service, key, values[key])
    for key in OPTIONAL_SERVICE_FIELDS:
        if key in values:
            setattr(service, key, values[key])
    db.session.flush()
    record(actor, "service.updated", "service", service.id, None, before,
            audit.snapshot(service), now)


# ---------------------------------------------------------------- counters

def counter_state(counter: Counter) -> dict:
    return {**audit.snapshot(counter), "services": ids(counter.services)}


def create_counter(office: Office, name: str, service_ids: Iterable[str], actor,
                   now: datetime) -> Counter:
    counter = Counter(office=office, name=name, services=get_services(service_ids))
    db.session.add(counter)
    db.session.flush()
    record(actor, "counter.created", "counter", counter.id, office.id, None,
            counter_state(counter), now)
    return counter


def update_counter(counter: Counter, name: str, service_ids: Iterable[str], actor,
                   now: datetime) -> None:
    before = counter_state(counter)
    counter.name = name
    counter.services = get_services(service_ids)
    db.session.flush()
    record(actor, "counter.updated", "counter", counter.id, counter.office_id, before,
            counter_state(counter), now)


def delete_counter(counter: Counter, actor, now: datetime) -> None:
    """Its closures go with it (the capacity it took off comes back)."""
    before = counter_state(counter)
    db.session.delete(counter)
    db.session.flush()
    record(actor, "counter.deleted", "counter", before["id"], before["office_id"], before,
            None, now)


# ---------------------------------------------------------------- availability rules


# ---------------------------------------------------------------- decisions (rules, closures)

def decide(appointments: list[Appointment], decision: str | None,
            seen_ids: frozenset[int] | None, *, keep_allowed: bool = True) -> None:
    """Raise DecisionNeeded unless a decision was taken for exactly ``appointments``."""
    current = frozenset(a.id for a in appointments)
    if not current:
        return
    if decision not in (KEEP, CANCEL) or seen_ids != current:
        raise DecisionNeeded(appointments)
    if decision == KEEP and not keep_allowed:
        raise DecisionNeeded(appointments, keep_refused=True)


def cancel_all(appointments: list[Appointment], reason_for, actor, now: datetime) -> None:
    for appt in appointments:
        before = audit.snapshot(appt, ["status", "cancel_reason"])
        operations.cancel_appointment(appt, now, enforce_deadline=False, by=BY_OFFICE,
                                      reason=reason_for(appt))
        record(actor, "appointment.cancelled", "appointment", appt.id, appt.office_id,
                before, audit.snapshot(appt, ["status", "cancel_reason"]), now)
