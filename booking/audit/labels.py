"""Readable names for what the audit log stores as keys: actions ("closure.created"),
entities ("rule"), and the fields of its before/after values ("cancel_reason").

Every key the application records has a translated label here (tests check the actions
recorded in the code and the columns of the audited models); a key without one, e.g.
from an older version, is shown readably rather than raw ("feed_token.renewed" →
"Feed token renewed").
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTIONS = {
    "office.created": _l("Office created"),
    "office.updated": _l("Office settings changed"),
    "service.created": _l("Service created"),
    "service.updated": _l("Service changed"),
    "counter.created": _l("Counter created"),
    "counter.updated": _l("Counter changed"),
    "counter.deleted": _l("Counter deleted"),
    "counter.paused": _l("Counter paused"),
    "counter.resumed": _l("Counter resumed"),
    "rule.created": _l("Opening-hours rule created"),
    "rule.updated": _l("Opening-hours rule changed"),
    "rule.deleted": _l("Opening-hours rule deleted"),
    "closure.created": _l("Closure created"),
    "closure.deleted": _l("Closure deleted"),
    "appointment.booked": _l("Appointment booked by staff"),
    "appointment.cancelled": _l("Appointment cancelled"),
    "appointment.moved": _l("Appointment moved"),
    "appointment.arrived": _l("Arrival recorded"),
    "appointment.no_show": _l("Marked as no-show"),
    "feed_token.created": _l("Calendar feed created"),
    "feed_token.renewed": _l("Calendar feed renewed"),
    "feed_token.revoked": _l("Calendar feed revoked"),
    "portal_key.issued": _l("API key for a portal issued"),
    "portal_key.revoked": _l("API key for a portal revoked"),
    "lottery.created": _l("Lottery announced"),
    "lottery.drawn": _l("Lottery drawn"),
    "faq.created": _l("Question for the assistant added"),
    "faq.updated": _l("Question for the assistant changed"),
    "faq.deleted": _l("Question for the assistant deleted"),
    "invitations.uploaded": _l("List of persons to invite uploaded"),
    "invitations.rejected": _l("List of persons to invite rejected (nothing imported)"),
    "invitation.added": _l("Person to invite entered"),
}

ENTITIES = {
    "office": _l("Office"),
    "service": _l("Service"),
    "counter": _l("Counter"),
    "rule": _l("Opening-hours rule"),
    "closure": _l("Closure"),
    "appointment": _l("Appointment"),
    "user": _l("Staff account"),
    "portal_key": _l("API key for a portal"),
    "lottery": _l("Lottery"),
    "faq": _l("Question for the assistant"),
    "invitation": _l("Invitation"),
    "invitations": _l("Invitations"),
}

FIELDS = {
    # shared
    "id": _l("Identifier"),
    "office_id": _l("Office"),
    "services": _l("Services"),
    "name": _l("Name"),
    # offices
    "address": _l("Address"),
    "email": _l("Email address"),
    "phone": _l("Phone"),
    "timezone": _l("Time zone"),
    "state": _l("Federal state (for public holidays)"),
    "slot_minutes": _l("Slot length (minutes)"),
    "lead_time_minutes": _l("Lead time: earliest booking before the start (minutes)"),
    "horizon_days": _l("Booking horizon (days ahead)"),
    "cancel_deadline_minutes": _l("Cancellation deadline before the start (minutes)"),
    "feed_shows_names": _l("Staff calendar feeds show citizens' names"),
    "queue_window_minutes": _l("Punctuality window (minutes)"),
    "queue_recall_cooldown_seconds": _l("Seconds before a ticket can be called again"),
    "queue_max_recalls": _l("Maximum recalls"),
    "queue_daily_limit": _l("Walk-in tickets per day (empty: no limit)"),
    "reminder_hours": _l("Reminder email this many hours before the appointment (0: none)"),
    "waitlist_hold_minutes": _l("Waitlist: an offered appointment is kept this many minutes"),
    "max_active_per_email": _l("Appointments per person and service (empty: no limit)"),
    "opt_in_hold_minutes": _l("Minutes to confirm an online booking by email"),
    "release_delay_minutes": _l("Delay before cancelled times are offered again (minutes)"),
    "release_time": _l("Daily release time of cancelled times"),
    "transport_de": _l("How to get there by public transport (German)"),
    "transport_en": _l("How to get there by public transport (English)"),
    "accessibility_de": _l("Accessibility facts (German)"),
    "accessibility_en": _l("Accessibility facts (English)"),
    "step_free": _l("Step-free access"),
    "district": _l("District (shown with the next free appointments)"),
    "latitude": _l("Latitude (decimal degrees)"),
    "longitude": _l("Longitude (decimal degrees)"),
    "max_persons": _l("Persons per appointment at most"),
    "max_services": _l("Services per appointment at most"),
    "not_combinable": _l("Services booked only on their own"),
    # services
    "position": _l("Position in lists"),
    "name_de": _l("Name (German)"),
    "name_en": _l("Name (English)"),
    "description_de": _l("Description (German)"),
    "description_en": _l("Description (English)"),
    "bring_de": _l("Please bring (German)"),
    "bring_en": _l("Please bring (English)"),
    "fee_cents": _l("Fee"),
    "duration_minutes": _l("Duration (minutes)"),
    "further_person_minutes": _l("Time per further person (minutes)"),
    "queue_prefix": _l("Queue prefix"),
    # counters
    "paused": _l("Paused"),
    # rules
    "weekdays": _l("Weekdays"),
    "start_time": _l("Start time"),
    "end_time": _l("End time"),
    "valid_from": _l("Valid from"),
    "valid_until": _l("Valid until"),
    "capacity": _l("Capacity (appointments at the same time)"),
    # FAQ entries of the assistant
    "question_de": _l("Question (German)"),
    "answer_de": _l("Answer (German)"),
    "question_en": _l("Question (English)"),
    "answer_en": _l("Answer (English)"),
    # closures
    "period": _l("When"),
    "starts_at": _l("Start"),
    "ends_at": _l("End"),
    "reason": _l("Reason"),
    "counter_id": _l("Counter"),
    "cancelled": _l("Cancelled appointments"),
    # appointments
    "status": _l("Status"),
    "cancel_reason": _l("Reason for the cancellation"),
    "channel": _l("Booked via"),
    "held_until": _l("Reserved until"),
    "email_key": _l("Email address (normalised)"),
    "service_id": _l("Service"),
    "start_at": _l("Start"),
    "end_at": _l("End"),
    # portal keys
    "label": _l("Label"),
    # lotteries
    "offices": _l("Offices taking part"),
    "first_day": _l("First day"),
    "last_day": _l("Last day"),
    "opens_at": _l("Entries open"),
    "closes_at": _l("Entries close (draw)"),
    "seed": _l("Seed of the draw"),
    "entries": _l("Number of entries"),
    "verified": _l("Confirmed entries"),
    "seats": _l("Appointments drawn for"),
    "winners": _l("Drawn and booked"),
    # invitations
    "invitation_weeks": _l("Invite this many weeks before the due date"),
    "invitation_language": _l("Language of invitations (if the file names none)"),
    "file": _l("File name"),
    "lines": _l("Lines"),
    "imported": _l("Persons imported"),
    "opted_out": _l("Persons left out (opted out)"),
    "errors": _l("Errors"),
    "due_date": _l("Due date"),
}

VALUES = {
    ("status", "held"): _l("Awaiting the citizen's confirmation"),
    ("status", "confirmed"): _l("Confirmed"),
    ("status", "cancelled"): _l("Cancelled"),
    ("status", "arrived"): _l("Arrived"),
    ("status", "no_show"): _l("No-show"),
    ("channel", "online"): _l("Online"),
    ("channel", "phone"): _l("Phone"),
}


def readable(key: str) -> str:
    """A key without a label, made readable: 'feed_token.renewed' → 'Feed token renewed'."""
    return " ".join(key.replace(".", " ").replace("_", " ").split()).capitalize() or "–"


def action_label(action: str) -> str:
    return str(ACTIONS.get(action) or readable(action))


def entity_label(entity: str) -> str:
    return str(ENTITIES.get(entity) or readable(entity))


def field_label(key: str) -> str:
    return str(FIELDS.get(key) or readable(key))


def value_label(key: str, value: str) -> str | None:
    label = VALUES.get((key, value))
    return str(label) if label is not None else None
