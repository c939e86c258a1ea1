"""Figures read from tables of counts kept for the statistics (nothing personal, they
outlive the purge): the estimator's error on closed days (written nightly by the
periodic job, booking.queueing.estimator_error) and the invitations (per month)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from booking.db import db
from booking.invitations import stats as invitation_stats
from booking.queueing.models import EstimateError
from booking.statistics import sql
from booking.statistics.period import Period


@dataclass
class ErrorFigures:
    tickets: int = 0
    abs_error_sum: float = 0.0  # minutes
    error_sum: float = 0.0
    within_5: int = 0

    def add(self, tickets: int, abs_error_sum: float, error_sum: float, within_5: int) -> None:
        self.tickets += tickets
        self.abs_error_sum += abs_error_sum
        self.error_sum += error_sum
        self.within_5 += within_5

    @property
    def mean_abs_error(self) -> float | None:
        return round(self.abs_error_sum / self.tickets, 1) if self.tickets else None

    @property
    def bias(self) -> float | None:
        """Mean of estimate minus actual: positive, the estimates were too long."""
        return round(self.error_sum / self.tickets, 1) if self.tickets else None

    @property
    def within_share(self) -> float | None:
        """Percent of the tickets whose estimate was within ±5 minutes."""
        return round(100 * self.within_5 / self.tickets, 1) if self.tickets else None


def estimate_errors(period: Period) -> dict[tuple[date, str | None], ErrorFigures]:
    """The summed closed days of the period, per (bucket, service) and (bucket, None)."""
    e = EstimateError
    query = (select(e.day, e.service_id, func.sum(e.tickets), func.sum(e.abs_error_sum),
                    func.sum(e.error_sum), func.sum(e.within_5))
             .where(e.office_id == period.office_id, e.day >= period.first,
                    e.day <= period.last)
             .group_by(e.day, e.service_id))
    if period.service_id:
        query = query.where(e.service_id == period.service_id)
    result: dict[tuple[date, str | None], ErrorFigures] = {}
    for day, service_id, tickets, abs_sum, error_sum, within in db.session.execute(query):
        bucket = period.bucket_of(sql.as_date(day))
        for key in ((bucket, service_id), (bucket, None)):
            result.setdefault(key, ErrorFigures()).add(int(tickets), float(abs_sum),
                                                       float(error_sum), int(within))
    return result


def invitations(period: Period) -> list[invitation_stats.Counts]:
    """The invitation counts of the months the period touches (counted per month),
    oldest first."""
    rows = invitation_stats.get_counts([period.office_id], period.first, period.last)
    if period.service_id:
        rows = [r for r in rows if r.service_id == period.service_id]
    return sorted(rows, key=lambda r: (r.month, r.service_id))
