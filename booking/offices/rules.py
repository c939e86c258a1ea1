"""Availability rules: saving and deleting them without silently stranding appointments.

A rule change that leaves confirmed future appointments without a seat needs an explicit
decision (:class:`~booking.offices.operations.DecisionNeeded`) for exactly the
appointments the manager was shown; others whose seat the change takes away are re-seated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import force_locale, gettext
from sqlalchemy import delete, select

from booking.audit import log as audit
from booking.db import db
from booking.notifications import appointment_mails
from booking.offices import operations as ops
from booking.offices.models import AvailabilityRule, Office
from booking.offices.operations import CANCEL
from booking.scheduling import operations, queries, seat_counts, slots, step_changes
from booking.scheduling.models import CONFIRMED, Appointment, AppointmentSeat


def rule_state(rule: AvailabilityRule) -> dict:
    return {**audit.snapshot(rule), "services": ops.ids(rule.services)}


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
    # held seats (given up, or of an unconfirmed hold) are not kept through a change
    future = [(seat, appt) for seat, appt in rows
              if appt.status == CONFIRMED and appt.start_at >= now and seat.held_until is None]
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
    return appointment_mails.cancellation_text(appointment.language, detail, text)


def _apply_plan(plan: RulePlan, decision: str | None, detail: str, actor,
                now: datetime) -> None:
    if plan.stranded and decision == CANCEL:
        ops.cancel_all(plan.stranded, lambda a: _apology_rules(a, detail), actor, now)
    counted = seat_counts.Changes()
    for seat, rule_id, seat_no in plan.moves:  # seats not held (plan_rule_change)
        counted[seat.rule_id, seat.slot_at] -= 1
        counted[rule_id, seat.slot_at] += 1
        seat.rule_id, seat.seat_no = rule_id, seat_no
    db.session.flush()
    seat_counts.apply(counted)


def _set_rule(rule: AvailabilityRule, proposed: slots.Rule) -> None:
    rule.weekdays = "".join(str(d) for d in sorted(proposed.weekdays))
    rule.start_time, rule.end_time = proposed.start, proposed.end
    rule.valid_from, rule.valid_until = proposed.valid_from, proposed.valid_until
    rule.capacity = proposed.capacity
    rule.services = ops.get_services(proposed.service_ids)


def save_rule(office: Office, rule: AvailabilityRule | None, proposed: slots.Rule,
              decision: str | None, seen_ids: frozenset[int] | None, detail: str, actor,
              now: datetime) -> tuple[AvailabilityRule, RulePlan]:
    """Create (``rule`` None) or change a rule. Stranded appointments need ``decision``
    KEEP (they stay as booked, holding their seats) or CANCEL (cancelled, with the
    apology and ``detail`` in the email), taken for exactly ``seen_ids``."""
    operations.lock_office_schedule(office, for_change=True)  # none may slip in before the commit
    plan = plan_rule_change(office, rule.id if rule else None, proposed, now)
    ops.decide(plan.stranded, decision, seen_ids)
    before = rule_state(rule) if rule else None
    _apply_plan(plan, decision, detail, actor, now)
    if rule is None:
        rule = AvailabilityRule(office=office)
        db.session.add(rule)
    _set_rule(rule, proposed)
    db.session.flush()
    ops.record(actor, "rule.created" if before is None else "rule.updated", "rule", rule.id,
            office.id, before, rule_state(rule), now)
    return rule, plan


def delete_rule(office: Office, rule: AvailabilityRule, decision: str | None,
                seen_ids: frozenset[int] | None, detail: str, actor, now: datetime) -> RulePlan:
    """Delete a rule. Appointments that cannot move to another rule must be cancelled:
    keeping them would leave them holding seats of a rule that no longer exists."""
    operations.lock_office_schedule(office, for_change=True)  # none may slip in before the commit
    plan = plan_rule_change(office, rule.id, None, now)
    ops.decide(plan.stranded, decision, seen_ids, keep_allowed=False)
    before = rule_state(rule)
    _apply_plan(plan, decision, detail, actor, now)
    if plan.stale_seats:
        seat_counts.apply(seat_counts.unheld(db.session.execute(
            delete(AppointmentSeat).where(AppointmentSeat.id.in_(plan.stale_seats)).returning(
                AppointmentSeat.rule_id, AppointmentSeat.slot_at, AppointmentSeat.held_until)),
            -1))
    db.session.delete(rule)
    db.session.flush()
    ops.record(actor, "rule.deleted", "rule", before["id"], office.id, before, None, now)
    return plan


def preview_changes(office: Office, rule_id: int | None, proposed: slots.Rule | None,
                    now: datetime) -> tuple[step_changes.StepChanges, date]:
    """What replacing rule ``rule_id`` by ``proposed`` (None: deleting it; ``rule_id`` None:
    a new rule) adds to and removes from the office's open steps, per local day and
    offered service, from ``now`` to the end of the booking horizon (closures and holidays
    as now); and that last day."""
    policy = queries.get_policy(office)
    first = now.astimezone(office.tz).date()
    last = slots.bookable_window(policy, now)[1]
    closures, cuts = queries.get_closure_intervals(office, first, last)
    holidays = queries.get_holidays(office.state, first, last)
    current = queries.get_rules(office)
    changed = proposed_rules(office, rule_id, proposed)
    per_service = {}
    for service in office.services:
        before, after = (
            step_changes.places(slots.open_steps(rules, closures, holidays, service.id, policy,
                                                 first, last, cuts), since=now)
            for rules in (current, changed))
        per_service[service.id] = (before, after)
    return step_changes.diff_services(per_service, policy.slot, office.tz), last
