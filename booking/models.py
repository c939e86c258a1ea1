"""Imports every model so that the metadata (and Alembic) sees all tables."""

from booking.notifications.models import OutboxMessage
from booking.offices.models import AvailabilityRule, Closure, Counter, Office, Service
from booking.scheduling.models import Appointment, AppointmentSeat

__all__ = [
    "Appointment",
    "AppointmentSeat",
    "AvailabilityRule",
    "Closure",
    "Counter",
    "Office",
    "OutboxMessage",
    "Service",
]
