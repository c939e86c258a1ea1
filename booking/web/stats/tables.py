"""The statistics as tables: caption, column headers and rows of plain values. The page
shows them, the exports write them (no personal data: counts, durations, service and
counter names)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

from flask_babel import format_date, gettext, lazy_gettext
from markupsafe import Markup, escape

from booking.statistics import charts, figures, sides
from booking.statistics import estimates as estimate_figures
from booking.statistics.period import Period
from booking.statistics.sql import DAY, MONTH, WEEK


@dataclass(frozen=True)
class Table:
    key: str
    caption: str
    headers: list[str]
    rows: list[list]
    row_headers: bool = True  # the first column names the row


def bucket_label(bucket: date, granularity: str) -> str:
    if granularity == MONTH:
        return format_date(bucket, "MMMM y")
    if granularity == WEEK:
        return gettext("Week from %(day)s", day=format_date(bucket, "short"))
    return format_date(bucket, "EEE, dd.MM.y")


def number_text(value, language: str) -> str:
    """A figure as text: integers plain, others with one decimal at most, a decimal
    comma in German; missing ones as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    text = f"{value:.1f}"
    return text.replace(".", ",") if language == "de" else text


def rows_html(table: Table, language: str) -> Markup:
    """The table's body rows; the first cell a row header (``th scope="row"``)."""
    out = []
    for row in table.rows:
        cells = [escape(number_text(v, language)) for v in row]
        head = (f'<th scope="row">{cells[0]}</th>' if table.row_headers
                else f"<td>{cells[0]}</td>")
        out.append(f"<tr>{head}{''.join(f'<td>{c}</td>' for c in cells[1:])}</tr>")
    if not out:
        out.append(f'<tr><td colspan="{len(table.headers)}">'
                   f'{escape(gettext("No data in this period."))}</td></tr>')
    return Markup("\n".join(out))


class Tables:
    """Builds each table on demand (an export needs one, the page all)."""

    def __init__(self, period: Period, service_names: dict[str, str], day: date,
                 export: bool = False):
        self.period, self.names, self.day, self.export = period, service_names, day, export
        self._cache: dict[str, object] = {}

    def _once(self, key: str, compute: Callable):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def _bucket(self, bucket: date):
        return bucket if self.export else bucket_label(bucket, self.period.granularity)

    def _service_rows(self, data: dict, cells: Callable) -> list[list]:
        rows = []
        for bucket in self.period.buckets():
            label = self._bucket(bucket)  # (a year per day: formatted once, not per service)
            for service_id, name in [*self.names.items(), (None, gettext("All services"))]:
                item = data.get((bucket, service_id))
                if item is None and service_id is not None:
                    continue
                if service_id is None and self.period.service_id:
                    continue
                rows.append([label, name, *cells(item)])
        return rows

    @property
    def appointment_days(self):
        """Per day: what the buckets and the weekly trend sum up (one query)."""
        return self._once("a", lambda: figures.appointments(replace(self.period,
                                                                    granularity=DAY)))

    @property
    def appointment_figures(self):
        return self._once("ab", lambda: figures.roll_up(self.appointment_days, self.period))

    @property
    def ticket_figures(self):
        return self._once("t", lambda: figures.tickets(self.period))

    def appointments(self) -> Table:
        def cells(f):
            f = f or figures.AppointmentFigures()
            return [f.booked, f.persons, f.cancelled_citizen, f.cancelled_office, f.no_show, f.arrived,
                    f.reminders, f.lead_hours]
        return Table("appointments", gettext("Appointments"),
                     [gettext("Period"), gettext("Service"), gettext("Booked"),
                      gettext("Persons"), gettext("Cancelled by the citizen"),
                      gettext("Cancelled by the office"),
                      gettext("No-shows"), gettext("Arrived"), gettext("Reminders sent"),
                      gettext("Mean lead time (hours)")],
                     self._service_rows(self.appointment_figures, cells))

    def tickets(self) -> Table:
        def cells(f):
            f = f or figures.TicketFigures()
            return [f.walk_ins, f.check_ins, f.served, f.no_show, f.unserved, f.reminders]
        return Table("tickets", gettext("Tickets"),
                     [gettext("Period"), gettext("Service"), gettext("Walk-in tickets drawn"),
                      gettext("Appointments checked in"), gettext("Served"), gettext("No-shows"),
                      gettext("Not served"), gettext("Reminders sent")],
                     self._service_rows(self.ticket_figures, cells))

    def waits(self) -> Table:
        def cells(f):
            f = f or figures.TicketFigures()
            return [f.called, f.wait_mean, f.wait_median, f.wait_p90, f.service_mean, f.planned]
        return Table("waits", gettext("Waiting and service times (minutes)"),
                     [gettext("Period"), gettext("Service"), gettext("Called"),
                      gettext("Mean wait"), gettext("Median wait"),
                      gettext("90th percentile of waits"), gettext("Mean service time"),
                      gettext("Planned duration")],
                     self._service_rows(self.ticket_figures, cells))

    @property
    def sides(self) -> sides.Sides:
        return self._once("s", lambda: sides.side_figures(self.period))

    def counters(self) -> Table:
        rows = [[c.name, c.days, c.served, c.busy_hours, c.utilisation]
                for c in sides.counters(self.sides)]
        return Table("counters", gettext("Counter utilisation"),
                     [gettext("Counter"), gettext("Days with calls"), gettext("Served"),
                      gettext("Hours serving"),
                      gettext("Utilisation in percent (first call to last finish)")], rows)

    def capacity(self) -> Table:
        rows = [[self._bucket(b), c.published, c.booked, c.share]
                for b, c in sorted(figures.capacity(self.period,
                                                               self.appointment_figures).items())]
        return Table("capacity", gettext("Capacity published and booked"),
                     [gettext("Period"), gettext("Seats published"), gettext("Seats booked"),
                      gettext("Booked in percent")], rows)

    def channels(self) -> Table:
        data = figures.channels(self.period, self.appointment_figures, self.ticket_figures)
        rows = [[self._bucket(b), c.online, c.phone, c.kiosk] for b, c in sorted(data.items())]
        return Table("channels", gettext("Channels"),
                     [gettext("Period"), gettext("Online"), gettext("Phone"),
                      gettext("Kiosk (walk-in tickets)")], rows)

    def waitlist(self) -> Table:
        rows = [[self.names.get(c.service_id, c.service_id), c.offered, c.taken, c.expired]
                for c in figures.waitlist(self.period)]
        return Table("waitlist", gettext("Waitlist offers"),
                     [gettext("Service"), gettext("Offers made"), gettext("Offers taken"),
                      gettext("Offers expired")], rows)

    def invitations(self) -> Table:
        rows = [[c.month if self.export else format_date(c.month, "MMMM y"),
                 self.names.get(c.service_id, c.service_id), c.sent, c.booked, c.declined,
                 c.opted_out] for c in estimate_figures.invitations(self.period)]
        return Table("invitations", gettext("Invitations per month and service"),
                     [gettext("Month"), gettext("Service"), gettext("Sent"),
                      gettext("Booked"), gettext("Declined"),
                      gettext("Opted out")], rows)

    def estimates(self) -> Table:
        def cells(f):
            f = f or estimate_figures.ErrorFigures()
            return [f.tickets, f.mean_abs_error, f.bias, f.within_share]
        return Table("estimates", gettext("Accuracy of the waiting-time estimates (closed days)"),
                     [gettext("Period"), gettext("Service"), gettext("Walk-in tickets called"),
                      gettext("Mean absolute error (minutes)"),
                      gettext("Deviation (minutes; positive: estimates too long)"),
                      gettext("Within ±5 minutes in percent")],
                     self._service_rows(self._once("e", lambda: estimate_figures.estimate_errors(
                         self.period)), cells))

    @property
    def hours(self) -> list[charts.Hour]:
        return self._once("h", lambda: charts.day_by_hour(
            self.period.office_id, self.period.timezone, self.day, self.period.service_id))

    def day_hours(self) -> Table:
        return Table("hours", gettext("Arrivals and mean wait by hour on %(day)s",
                                      day=format_date(self.day, "full")),
                     [gettext("Hour"), gettext("Arrivals"), gettext("Mean wait (minutes)")],
                     [[f"{h.hour:02d}:00", h.arrivals, h.wait_mean] for h in self.hours])

    @property
    def distribution(self) -> dict[str, list[int]]:
        return self._once("d", lambda: charts.wait_distribution(self.ticket_figures))

    def wait_bands(self) -> list[str]:
        bands = charts.WAIT_BANDS
        labels = [gettext("%(low)s–%(high)s min", low=bands[i], high=bands[i + 1])
                  for i in range(len(bands) - 1)]
        return [*labels, gettext("%(low)s min or more", low=bands[-1])]

    def distribution_table(self) -> Table:
        rows = [[self.names.get(s, s), *counts] for s, counts in
                sorted(self.distribution.items(), key=lambda i: list(self.names).index(i[0])
                       if i[0] in self.names else 99)]
        return Table("distribution", gettext("Waits per service (tickets per band)"),
                     [gettext("Service"), *self.wait_bands()], rows)

    @property
    def heat(self) -> dict[tuple[int, int], int]:
        return self.sides.heat

    def heat_table(self, hours: list[int]) -> Table:
        rows = [[weekday_name(d), *[self.heat.get((d, h), 0) for h in hours]]
                for d in range(1, 8)]
        return Table("demand", gettext("Tickets drawn by weekday and hour"),
                     [gettext("Weekday"), *[f"{h:02d}:00" for h in hours]], rows)

    @property
    def weeks(self) -> list[charts.Week]:
        return self._once("w", lambda: charts.weekly_trend(
            self.period, figures.roll_up(self.appointment_days,
                                         replace(self.period, granularity=WEEK)),
            self.ticket_figures, self.sides.weeks))

    def weeks_table(self) -> Table:
        rows = [[w.start if self.export else format_date(w.start, "short"), w.appointments,
                 w.walk_ins, w.wait_mean] for w in self.weeks]
        return Table("weeks", gettext("Trend by week"),
                     [gettext("Week from"), gettext("Appointments booked"),
                      gettext("Walk-in tickets drawn"), gettext("Mean wait (minutes)")], rows)

    def by_key(self, key: str) -> Table:
        if key == "demand":
            from booking.statistics.svg import heat_map
            return self.heat_table(heat_map(self.heat).hours)
        return getattr(self, BUILDERS[key])()


BUILDERS = {"appointments": "appointments", "tickets": "tickets", "waits": "waits",
            "counters": "counters", "capacity": "capacity", "channels": "channels",
            "waitlist": "waitlist", "invitations": "invitations", "estimates": "estimates",
            "hours": "day_hours", "distribution": "distribution_table",
            "demand": "heat_table", "weeks": "weeks_table"}

WEEKDAYS = (lazy_gettext("Monday"), lazy_gettext("Tuesday"), lazy_gettext("Wednesday"),
            lazy_gettext("Thursday"), lazy_gettext("Friday"), lazy_gettext("Saturday"),
            lazy_gettext("Sunday"))


def weekday_name(iso: int) -> str:
    return str(WEEKDAYS[iso - 1])


