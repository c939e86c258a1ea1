"""Domain errors of scheduling; the web layer maps them to status codes and messages."""


class SchedulingError(Exception):
    """Base class."""


class NotBookable(SchedulingError):
    """The start is not offered: off the grid, outside opening hours, closed, too soon or too late."""


class SlotTaken(SchedulingError):
    """The start was offered, but its last seat went to someone else."""


class DeadlinePassed(SchedulingError):
    """The cancellation deadline is over: the appointment can no longer be changed online."""


class AppointmentCancelled(SchedulingError):
    """The appointment was cancelled and can't be moved."""


class ServiceNotOffered(SchedulingError):
    """The office does not offer that service."""


class KeyReused(SchedulingError):
    """The idempotency key was used before for a different booking request."""


class VisitNotAllowed(SchedulingError):
    """The services and persons of one appointment break the office's rules
    (booking.scheduling.visits.check_visit); ``reason`` says which, ``limit`` the
    office's number where one applies."""

    def __init__(self, reason: str, limit: int | None = None, service_id: str | None = None):
        super().__init__(f"{reason} (limit {limit}, service {service_id})")
        self.reason, self.limit, self.service_id = reason, limit, service_id
