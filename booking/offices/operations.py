"""Configuring offices: settings, services, counters, availability rules and closures.

Every change records an audit entry (before → after) in the same transaction and only
``flush()``es; the acting user and ``now`` are arguments. Nothing here reads the request.

Never silently strand an appointment: a rule change that leaves confirmed future
appointments without a seat, and a closure that falls on them, need an explicit decision
(:class:`DecisionNeeded`) for exactly the appointments the manager was shown.

Counter closures: closing one counter takes one seat off the capacity of *every* rule in
force during the closure (two counters closed: two seats). The appointments holding the
seat numbers above that reduced capacity are the ones affected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import force_locale, gettext
from sqlalchemy import delete, func, select

from booking.audit import log as audit
from booking.db import db
from booking.offices.models import AvailabilityRule, Closure, Counter, Office, Service
from booking.scheduling import operations, queries, slots
from booking.scheduling.models import CONFIRMED, Appointment, AppointmentSeat

OFFICE_FIELDS = ("name", "address", "email", "phone", "state", "slot_minutes",
                 "lead_time_minutes", "horizon_days", "cancel_deadline_minutes",
                 "feed_shows_names", "queue_window_minutes", "queue_recall_cooldown_seconds",
                 "queue_max_recalls", "queue_daily_limit")
SERVICE_FIELDS = ("position", "name_de", "name_en", "description_de", "description_en",
                  "bring_de", "bring_en", "fee_cents", "duration_minutes", "queue_prefix")
PREVIEW_DAYS = 14
KEEP, CANCEL = "keep", "cancel"
REASON_LENGTH = 300  # Appointment.cancel_reason


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


def _record(actor, action: str, entity: str, entity_id, office_id: str | None,
            before: dict | None, after: dict | None, now: datetime) -> None:
    audit.record(actor, action, entity, entity_id, office_id=office_id, before=before,
                 after=after, now=now)


def _ids(objects: Iterable) -> list:
    return sorted(o.id for o in objects)


def _services(service_ids: Iterable[str]) -> list[Service]:
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
    return {**audit.snapshot(office), "services": _ids(office.services)}


def _check_durations(services: Iterable[Service], slot_minutes: int) -> None:
    for service in services:
        if service.duration_minutes % slot_minutes:
            raise DurationNotMultiple(service, slot_minutes)


def create_office(office_id: str, values: Mapping, service_ids: Iterable[str], actor,
                  now: datetime) -> Office:
    if db.session.get(Office, office_id) is not None:
        raise DuplicateId(office_id)
    services = _services(service_ids)
    _check_durations(services, values["slot_minutes"])
    office = Office(id=office_id, **{k: values[k] for k in OFFICE_FIELDS}, services=services)
    db.session.add(office)
    db.session.flush()
    _record(actor, "office.created", "office", office.id, office.id, None,
            office_state(office), now)
    return office


def update_office(office: Office, values: Mapping, service_ids: Iterable[str], actor,
                  now: datetime) -> None:
    """Settings and offered services. The slot length cannot change while confirmed future
    appointments hold seats on the old grid; every offered service's duration must be a
    multiple of it. Appointments of a service no longer offered stay as booked."""
    before = office_state(office)
    slot_minutes = values["slot_minutes"]
    if slot_minutes != office.slot_minutes:
        count = count_future_appointments(office, now)
        if count:
            raise SlotLengthLocked(count)
    services = _services(service_ids)
    _check_durations(services, slot_minutes)
    for key in OFFICE_FIELDS:
        setattr(office, key, values[key])
    office.services = services
    db.session.flush()
    _record(actor, "office.updated", "office", office.id, office.id, before,
            office_state(office), now)


def create_service(service_id: str, values: Mapping, actor, now: datetime) -> Service:
    if db.session.get(Service, service_id) is not None:
        raise DuplicateId(service_id)
    service = Service(id=service_id, **{k: values[k] for k in SERVICE_FIELDS})
    db.session.add(service)
    db.session.flush()
    _record(actor, "service.created", "service", service.id, None, None,
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
    db.session.flush()
    _record(actor, "service.updated", "service", service.id, None, before,
            audit.snapshot(service), now)


# ---------------------------------------------------------------- counters

def counter_state(counter: Counter) -> dict:
    return {**audit.snapshot(counter), "services": _ids(counter.services)}


def create_counter(office: Office, name: str, service_ids: Iterable[str], actor,
                   now: datetime) -> Counter:
    counter = Counter(office=office, name=name, services=_services(service_ids))
    db.session.add(counter)
    db.session.flush()
    _record(actor, "counter.created", "counter", counter.id, office.id, None,
            counter_state(counter), now)
    return counter


def update_counter(counter: Counter, name: str, service_ids: Iterable[str], actor,
                   now: datetime) -> None:
    before = counter_state(counter)
    counter.name = name
    counter.services = _services(service_ids)
    db.session.flush()
    _record(actor, "counter.updated", "counter", counter.id, counter.office_id, before,
            counter_state(counter), now)


def delete_counter(counter: Counter, actor, now: datetime) -> None:
    """Its closures go with it (the capacity it took off comes back)."""
    before = counter_state(counter)
    db.session.delete(counter)
    db.session.flush()
    _record(actor, "counter.deleted", "counter", before["id"], before["office_id"], before,
            None, now)


# ---------------------------------------------------------------- availability rules

def rule_state(rule: AvailabilityRule) -> dict:
    return {**audit.snapshot(rule), "services": _ids(rule.services)}


@dataclass
class RulePlan:
    """What a rule change does to confirmed future appointments: ``stranded`` ones no
    longer fit; ``moves`` re-seat others whose seat the change takes away in another
    seat of a rule in force (seat, new rule id, new seat number); ``stale_seats`` are the
    rule's seats of past or finished appointments (only bookkeeping; dropped on delete)."""

    stranded: list[Appointment] = field(default_factory=list)
    moves: list[tuple[AppointmentSeat, int, int]] = field(default_factory=list)
    stale_seats: list[int] = field(default_factory=list)


def proposed_rules(office: Office, rule_id: int | None,
                   proposed: slots.Rule | None) -> list[slots.Rule]:
    """The office's rules with rule ``rule_id`` replaced by ``proposed`` (None: removed)."""
    rules = [r for r in queries.get_rules(office) if r.id != rule_id]
    return rules + ([proposed] if proposed is not None else [])


def plan_rule_change(office: Office, rule_id: int | None, proposed: slots.Rule | None,
                     now: datetime) -> RulePlan:
    """Which confirmed future appointments a change of rule ``rule_id`` strands.

    A seat of the changed rule stays if the new version still covers its step for the
    appointment's service and its number is within the new capacity. Otherwise it needs
    another free seat of a rule in force there (lowest seat numbers are served first, so
    the highest numbers are the stranded ones); an appointment with any seat left
    without one is stranded. Seats held by others are never reused, so keeping the
    stranded appointments as they are can never collide with a move.
    """
    plan = RulePlan()
    if rule_id is None:
        return plan  # a new rule only adds seats
    rows = db.session.execute(
        select(AppointmentSeat, Appointment)
        .join(Appointment, AppointmentSeat.appointment_id == Appointment.id)
        .where(AppointmentSeat.rule_id == rule_id)
    ).all()
    future = [(seat, appt) for seat, appt in rows
              if appt.status == CONFIRMED and appt.start_at >= now]
    held = {seat.id for seat, _ in future}
    plan.stale_seats = sorted(seat.id for seat, _ in rows if seat.id not in held)
    if not future:
        return plan
    tz, policy = office.tz, queries.get_policy(office)
    days = [seat.slot_at.astimezone(tz).date() for seat, _ in future]
    rules = proposed_rules(office, rule_id, proposed)
    steps_of: dict[str, slots.OpenSteps] = {}
    displaced = []
    for seat, appt in future:
        if appt.service_id not in steps_of:
            # closures and holidays do not matter here: only what the rules allow
            steps_of[appt.service_id] = slots.open_steps(
                rules, [], [], appt.service_id, policy, min(days), max(days))
        step = steps_of[appt.service_id].get(seat.slot_at)
        if (proposed is not None and step is not None and seat.seat_no <= proposed.capacity
                and any(r.id == proposed.id for r in step.rules)):
            continue
        displaced.append((seat, appt, step))
    used = queries.get_used_seats(office, sorted({seat.slot_at for seat, _, _ in displaced}))
    stranded: dict[int, Appointment] = {}
    for seat, appt, step in sorted(displaced, key=lambda d: (d[0].slot_at, d[0].seat_no)):
        pick = slots.choose_seat(step, used.get(seat.slot_at, {})) if step else None
        if pick is None:
            stranded[appt.id] = appt
            continue
        used.setdefault(seat.slot_at, {}).setdefault(pick[0], set()).add(pick[1])
        plan.moves.append((seat, *pick))
    plan.moves = [m for m in plan.moves if m[0].appointment_id not in stranded]
    plan.stranded = sorted(stranded.values(), key=lambda a: (a.start_at, a.code))
    return plan


def _apology_rules(appointment: Appointment, detail: str) -> str:
    with force_locale(appointment.language):
        text = gettext("We are very sorry: the opening hours of the office have changed "
                       "and your appointment can no longer take place.")
    return _with_detail(text, detail)


def _apology_closure(appointment: Appointment, detail: str) -> str:
    with force_locale(appointment.language):
        text = gettext("We are very sorry: the office has to close at the time of your "
                       "appointment, so we had to cancel it.")
    return _with_detail(text, detail)


def _with_detail(text: str, detail: str) -> str:
    detail = " ".join((detail or "").split())
    if detail:
        text = f"{text} {detail}"
    return text if len(text) <= REASON_LENGTH else text[:REASON_LENGTH - 1] + "…"


def _decide(appointments: list[Appointment], decision: str | None,
            seen_ids: frozenset[int] | None, *, keep_allowed: bool = True) -> None:
    """Raise DecisionNeeded unless a decision was taken for exactly ``appointments``."""
    current = frozenset(a.id for a in appointments)
    if not current:
        return
    if decision not in (KEEP, CANCEL) or seen_ids != current:
        raise DecisionNeeded(appointments)
    if decision == KEEP and not keep_allowed:
        raise DecisionNeeded(appointments, keep_refused=True)


def _cancel(appointments: list[Appointment], reason_for, actor, now: datetime) -> None:
    for appt in appointments:
        before = audit.snapshot(appt, ["status", "cancel_reason"])
        operations.cancel_appointment(appt, now, enforce_deadline=False,
                                      reason=reason_for(appt))
        _record(actor, "appointment.cancelled", "appointment", appt.id, appt.office_id,
                before, audit.snapshot(appt, ["status", "cancel_reason"]), now)


def _apply_plan(plan: RulePlan, decision: str | None, detail: str, actor,
                now: datetime) -> None:
    if plan.stranded and decision == CANCEL:
        _cancel(plan.stranded, lambda a: _apology_rules(a, detail), actor, now)
    for seat, rule_id, seat_no in plan.moves:
        seat.rule_id, seat.seat_no = rule_id, seat_no
    db.session.flush()


def _set_rule(rule: AvailabilityRule, proposed: slots.Rule) -> None:
    rule.weekdays = "".join(str(d) for d in sorted(proposed.weekdays))
    rule.start_time, rule.end_time = proposed.start, proposed.end
    rule.valid_from, rule.valid_until = proposed.valid_from, proposed.valid_until
    rule.capacity = proposed.capacity
    rule.services = _services(proposed.service_ids)


def save_rule(office: Office, rule: AvailabilityRule | None, proposed: slots.Rule,
              decision: str | None, seen_ids: frozenset[int] | None, detail: str, actor,
              now: datetime) -> tuple[AvailabilityRule, RulePlan]:
    """Create (``rule`` None) or change a rule. Stranded appointments need ``decision``
    KEEP (they stay as booked, holding their seats) or CANCEL (cancelled, with the
    apology and ``detail`` in the email), taken for exactly ``seen_ids``."""
    operations.hold_bookings()  # none may slip in between the plan and the commit
    plan = plan_rule_change(office, rule.id if rule else None, proposed, now)
    _decide(plan.stranded, decision, seen_ids)
    before = rule_state(rule) if rule else None
    _apply_plan(plan, decision, detail, actor, now)
    if rule is None:
        rule = AvailabilityRule(office=office)
        db.session.add(rule)
    _set_rule(rule, proposed)
    db.session.flush()
    _record(actor, "rule.created" if before is None else "rule.updated", "rule", rule.id,
            office.id, before, rule_state(rule), now)
    return rule, plan


def delete_rule(office: Office, rule: AvailabilityRule, decision: str | None,
                seen_ids: frozenset[int] | None, detail: str, actor, now: datetime) -> RulePlan:
    """Delete a rule. Appointments that cannot move to another rule must be cancelled:
    keeping them would leave them holding seats of a rule that no longer exists."""
    operations.hold_bookings()  # none may slip in between the plan and the commit
    plan = plan_rule_change(office, rule.id, None, now)
    _decide(plan.stranded, decision, seen_ids, keep_allowed=False)
    before = rule_state(rule)
    _apply_plan(plan, decision, detail, actor, now)
    if plan.stale_seats:
        db.session.execute(delete(AppointmentSeat).where(AppointmentSeat.id.in_(plan.stale_seats)))
    db.session.delete(rule)
    db.session.flush()
    _record(actor, "rule.deleted", "rule", before["id"], office.id, before, None, now)
    return plan


def preview_slots(office: Office, rules: list[slots.Rule], now: datetime,
                  days: int = PREVIEW_DAYS) -> list[tuple[date, list[tuple[Service, list]]]]:
    """Free slots per local day and offered service for the next ``days`` days, as the
    office would offer them with ``rules`` (closures, holidays and bookings as now)."""
    first = now.astimezone(office.tz).date()
    last = first + timedelta(days=days - 1)
    closures, cuts = queries.get_closure_intervals(office, first, last)
    holidays = queries.get_holidays(office.state, first, last)
    taken = queries.get_taken(office, first, last)
    policy = queries.get_policy(office)
    by_day: dict[date, list[tuple[Service, list]]] = {
        first + timedelta(days=i): [] for i in range(days)}
    for service in office.services:
        steps = slots.open_steps(rules, closures, holidays, service.id, policy, first, last,
                                 cuts)
        free = slots.free_slots(steps, taken, service.duration_minutes, policy, now)
        per_day: dict[date, list] = {}
        for slot in free:
            per_day.setdefault(slot.start_at.astimezone(office.tz).date(), []).append(slot)
        for day, found in per_day.items():
            by_day[day].append((service, found))
    return list(by_day.items())


# ---------------------------------------------------------------- closures

@dataclass(frozen=True)
class ClosureDraft:
    starts_at: datetime
    ends_at: datetime
    counter_id: int | None
    reason: str


def get_affected(office: Office, draft: ClosureDraft, now: datetime) -> list[Appointment]:
    """The confirmed appointments (not yet begun) that the closure would cancel.

    Whole office: every one overlapping the closure. One counter: in each step of the
    closure, the holders of seat numbers above the rule's capacity minus the counters
    closed then (this one and others already closed), for every rule in force.
    """
    if draft.counter_id is None:
        found = db.session.scalars(
            select(Appointment).where(
                Appointment.office_id == office.id, Appointment.status == CONFIRMED,
                Appointment.start_at >= now, Appointment.start_at < draft.ends_at,
                Appointment.end_at > draft.starts_at)
        ).all()
        return sorted(found, key=lambda a: (a.start_at, a.code))
    step = timedelta(minutes=office.slot_minutes)
    rows = db.session.execute(
        select(AppointmentSeat, Appointment)
        .join(Appointment, AppointmentSeat.appointment_id == Appointment.id)
        .where(AppointmentSeat.office_id == office.id, Appointment.status == CONFIRMED,
               Appointment.start_at >= now, AppointmentSeat.slot_at < draft.ends_at,
               AppointmentSeat.slot_at > draft.starts_at - step)
    ).all()
    if not rows:
        return []
    counter_closures = db.session.execute(
        select(Closure.counter_id, Closure.starts_at, Closure.ends_at).where(
            Closure.office_id == office.id, Closure.counter_id.is_not(None),
            Closure.counter_id != draft.counter_id,
            Closure.starts_at < draft.ends_at, Closure.ends_at > draft.starts_at - step)
    ).all()
    capacity = {r.id: r.capacity for r in queries.get_rules(office)}
    affected: dict[int, Appointment] = {}
    for seat, appt in rows:
        end = seat.slot_at + step
        closed = 1 + len({c for c, a, b in counter_closures if a < end and seat.slot_at < b})
        if seat.seat_no > capacity[seat.rule_id] - closed:
            affected[appt.id] = appt
    return sorted(affected.values(), key=lambda a: (a.start_at, a.code))


def closure_state(closure: Closure) -> dict:
    return audit.snapshot(closure)


def close(office: Office, draft: ClosureDraft, seen_ids: frozenset[int], actor,
          now: datetime) -> tuple[Closure, list[Appointment]]:
    """Create the closure and cancel every affected appointment, each with an apology and
    the reason (cancellation email with the rebooking link for those with an address).

    ``seen_ids`` are the affected appointments the manager was shown; if the list is
    different now (or was not looked at), nothing happens: DecisionNeeded.
    """
    operations.hold_bookings()  # none may slip in between the list and the commit
    affected = get_affected(office, draft, now)
    _decide(affected, CANCEL, seen_ids)
    closure = Closure(office=office, starts_at=draft.starts_at, ends_at=draft.ends_at,
                      counter_id=draft.counter_id, reason=draft.reason)
    db.session.add(closure)
    db.session.flush()
    _cancel(affected, lambda a: _apology_closure(a, draft.reason), actor, now)
    after = {**closure_state(closure), "cancelled": sorted(a.code for a in affected)}
    _record(actor, "closure.created", "closure", closure.id, office.id, None, after, now)
    return closure, affected


def delete_closure(closure: Closure, actor, now: datetime) -> None:
    """Reopen. Appointments cancelled for the closure stay cancelled."""
    before = closure_state(closure)
    db.session.delete(closure)
    db.session.flush()
    _record(actor, "closure.deleted", "closure", before["id"], before["office_id"], before,
            None, now)


def get_planned_closures(office: Office, now: datetime) -> list[Closure]:
    return list(db.session.scalars(
        select(Closure).where(Closure.office_id == office.id, Closure.ends_at > now)
        .order_by(Closure.starts_at, Closure.id)))
