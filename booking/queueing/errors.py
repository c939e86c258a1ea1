"""Domain errors of the walk-in queue; the web layer maps them to status codes and messages."""

from __future__ import annotations

from datetime import date


class QueueError(Exception):
    """Base class."""


class OfficeClosedNow(QueueError):
    """No walk-in tickets now: outside opening hours, a closure or a public holiday."""


class ContingentExhausted(QueueError):
    """The day's contingent of walk-in tickets is used up."""


class ServiceNotOffered(QueueError):
    """The office does not offer that service."""


class UnknownAppointment(QueueError):
    """No appointment with that booking code at this office."""


class NotCheckable(QueueError):
    """The appointment can't be checked in: another day, cancelled, or already checked in."""

    def __init__(self, reason: str, day: date | None = None):
        super().__init__(reason)
        self.reason = reason  # "other_day", "cancelled", "checked_in", "not_confirmed"
        self.day = day  # the appointment's local day (for "other_day")


class CounterBusy(QueueError):
    """The counter still has a called or served ticket: finish or park it first."""


class CounterPaused(QueueError):
    """The counter is paused."""


class WrongState(QueueError):
    """The ticket is not in a state that allows this action."""


class ReminderAsked(WrongState):
    """A reminder was asked for this ticket already: one per ticket, its address fixed."""


class RecallTooSoon(QueueError):
    """A recall inside the cooldown."""

    def __init__(self, seconds_left: int):
        super().__init__(seconds_left)
        self.seconds_left = seconds_left


class NoShowTooSoon(QueueError):
    """No-show only after the configured number of recalls."""

    def __init__(self, recalls_needed: int):
        super().__init__(recalls_needed)
        self.recalls_needed = recalls_needed
