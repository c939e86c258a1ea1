"""Imports every model so that the metadata (and Alembic) sees all tables."""

from booking.accounts.models import ApiToken, LoginFailure, User
from booking.assistant.models import FaqEntry
from booking.audit.models import AuditEntry
from booking.fairness.lottery_models import Lottery, LotteryEntry
from booking.fairness.models import PortalKey, SpentChallenge
from booking.invitations.models import Invitation, InvitationOptOut, InvitationStat
from booking.notifications.models import OutboxMessage
from booking.offices.models import AvailabilityRule, Closure, Counter, Office, Service
from booking.queueing.models import EstimateDay, EstimateError, Ticket, TicketDay
from booking.scheduling.models import Appointment, AppointmentSeat, IdempotencyKey, StepCount
from booking.waitlist.models import WaitlistOffer, WaitlistStat, WaitlistWish

__all__ = [
    "ApiToken",
    "FaqEntry",
    "LoginFailure",
    "User",
    "Appointment",
    "AppointmentSeat",
    "AuditEntry",
    "AvailabilityRule",
    "Closure",
    "Counter",
    "EstimateDay",
    "EstimateError",
    "IdempotencyKey",
    "StepCount",
    "Invitation",
    "InvitationOptOut",
    "InvitationStat",
    "Lottery",
    "LotteryEntry",
    "Office",
    "OutboxMessage",
    "PortalKey",
    "Service",
    "SpentChallenge",
    "Ticket",
    "TicketDay",
    "WaitlistOffer",
    "WaitlistStat",
    "WaitlistWish",
]
