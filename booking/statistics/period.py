"""What a statistics query covers: an office, local dates first..last, a granularity and
optionally one service (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.statistics.sql import DAY, GRANULARITIES, bucket_start

MAX_DAYS = 731  # two years at most per query


@dataclass(frozen=True)
class Period:
    office_id: str
    timezone: str
    first: date
    last: date
    granularity: str = DAY
    service_id: str | None = None

    def __post_init__(self):
        if self.granularity not in GRANULARITIES:
            raise ValueError(f"unknown granularity {self.granularity!r}")
        if self.last < self.first:
            raise ValueError("the period ends before it begins")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """UTC instants: the start of ``first`` and of the day after ``last``, local time."""
        start = datetime.combine(self.first, time.min, tzinfo=self.tz)
        end = datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=self.tz)
        return start.astimezone(UTC), end.astimezone(UTC)

    def buckets(self) -> list[date]:
        """The first day of every bucket the period touches, in order."""
        seen: list[date] = []
        day = self.first
        while day <= self.last:
            start = bucket_start(day, self.granularity)
            if not seen or seen[-1] != start:
                seen.append(start)
            day += timedelta(days=1)
        return seen

    def bucket_of(self, day: date) -> date:
        return bucket_start(day, self.granularity)
