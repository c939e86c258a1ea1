"""What the public office page shows of an office, loaded from the database: the
regular opening hours, the differing days of the coming weeks with the public holidays'
names and the closures' reasons, and the position as a plain OpenStreetMap link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays as holidays_lib
from sqlalchemy import select

from booking.db import db
from booking.offices import hours
from booking.offices.models import Closure, Office
from booking.scheduling import queries

#: how far ahead the page lists holidays, closures and other changes of the hours
COMING_DAYS = 28
#: the holidays library's names: German, or (American) English
_HOLIDAY_LANGUAGES = {"de": "de", "en": "en_US"}


@dataclass(frozen=True)
class OfficeHours:
    weekly: list[hours.Weekday]
    deviations: list[hours.Deviation]
    first_day: date
    last_day: date


@lru_cache(maxsize=64)
def _holiday_names(state: str, year: int, language: str) -> tuple[tuple[date, str], ...]:
    found = holidays_lib.country_holidays("DE", subdiv=state, years=year,
                                          language=_HOLIDAY_LANGUAGES.get(language, "de"))
    return tuple(sorted(found.items()))


def get_holiday_names(state: str, first_day: date, last_day: date, language: str
                      ) -> dict[date, str]:
    """The public holidays of the federal state in the date range, with their names in
    ``language`` (the same days as :func:`booking.scheduling.queries.get_holidays`)."""
    names: dict[date, str] = {}
    for year in range(first_day.year, last_day.year + 1):
        names.update((d, n) for d, n in _holiday_names(state, year, language)
                     if first_day <= d <= last_day)
    return names


def get_office_hours(office: Office, now: datetime, language: str,
                     days: int = COMING_DAYS) -> OfficeHours:
    """The office's hours per weekday and the days of the next ``days`` that differ."""
    today = now.astimezone(office.tz).date()
    last = today + timedelta(days=days - 1)
    start, end = queries.day_bounds(office, today, last)
    closures = [hours.Closed(c.starts_at, c.ends_at, c.reason) for c in db.session.scalars(
        select(Closure).where(Closure.office_id == office.id, Closure.counter_id.is_(None),
                              Closure.starts_at < end, Closure.ends_at > start)
        .order_by(Closure.starts_at, Closure.id))]
    rules = queries.get_rules(office)
    return OfficeHours(
        weekly=hours.weekly_hours(rules, office.tz, today),
        deviations=hours.deviations(rules, closures,
                                    get_holiday_names(office.state, today, last, language),
                                    office.tz, today, days),
        first_day=today, last_day=last)


def osm_url(office: Office) -> str | None:
    """A plain link to the office's position on openstreetmap.org (None without one)."""
    if office.latitude is None or office.longitude is None:
        return None
    lat, lon = f"{office.latitude:.6f}", f"{office.longitude:.6f}"
    return (f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}"
            f"#map=18/{lat}/{lon}")
