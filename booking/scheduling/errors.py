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
