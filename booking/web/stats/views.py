"""The statistics page and its exports: managers for their offices, administrators for
every office; clerks not (403)."""

from __future__ import annotations

import base64
from datetime import timedelta

from flask import abort, make_response, render_template, request, url_for
from flask_babel import format_date, gettext
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice

from booking.db import utcnow
from booking.i18n import current_language
from booking.offices.models import Office
from booking.statistics import svg
from booking.statistics.period import Period
from booking.web.auth import office_for, require_role, staff_user
from booking.web.stats import bp
from booking.web.stats.export import XLSX_TYPE, to_csv, to_xlsx
from booking.web.stats.forms import FilterForm
from booking.web.stats.tables import BUILDERS, Tables, number_text, rows_html

DEFAULT_DAYS = 30


def _filters(office: Office) -> tuple[FilterForm, Period | None, dict[str, str]]:
    """The form from the query string (defaults: the last 30 days, per day); the period
    if it is valid."""
    today = utcnow().astimezone(office.tz).date()
    args = MultiDict(request.args)
    args.setdefault("first", (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat())
    args.setdefault("last", today.isoformat())
    form = FilterForm(formdata=args)
    names = {s.id: s.text("name", current_language()) for s in office.services}
    form.service.choices = [SelectChoice("", gettext("All services")),
                            *[SelectChoice(k, v) for k, v in names.items()]]
    if not form.validate():
        return form, None, names
    period = Period(office.id, office.timezone, form.first.data, form.last.data,
                    form.granularity.data, form.service.data or None)
    return form, period, names


def _query(form: FilterForm) -> dict[str, str]:
    values = {"first": form.first.data.isoformat(), "last": form.last.data.isoformat(),
              "granularity": form.granularity.data}
    if form.service.data:
        values["service"] = form.service.data
    if form.day.data:
        values["day"] = form.day.data.isoformat()
    return values


@bp.get("/offices/<office_id>/statistics/")
@require_role("manager")
def page(office_id: str):
    office = office_for(staff_user(), office_id)
    form, period, names = _filters(office)
    if period is None:
        return render_template("stats/page.html", office=office, form=form, tables=None,
                               active="statistics"), 422
    tables = Tables(period, names, form.day.data or period.last)
    distribution = tables.distribution
    lang = current_language()

    def chart(items, **kw):
        return svg.bar_chart(items, text=lambda v: number_text(v, lang), **kw)

    return render_template(
        "stats/page.html", office=office, form=form, tables=tables, period=period,
        query=_query(form), active="statistics",
        day_text=format_date(tables.day, "full"),
        hours_chart=chart([(f"{h.hour:02d}", h.arrivals) for h in tables.hours]),
        wait_chart=chart([(f"{h.hour:02d}", h.wait_mean) for h in tables.hours]),
        band_charts=[(names.get(s, s), chart(list(zip(tables.wait_bands(), counts,
                                                             strict=True)), height=200))
                     for s, counts in distribution.items()],
        heat=svg.heat_map(tables.heat),
        estimates_url=url_for("admin.estimates", office_id=office.id,
                              first=max(period.first, period.last - timedelta(days=91)),
                              last=period.last),
        weeks_chart=chart([(str(i + 1), w.appointments + w.walk_ins)
                                   for i, w in enumerate(tables.weeks)]),
    )


@bp.get("/offices/<office_id>/statistics/<table>.<fmt>")
@require_role("manager")
def export(office_id: str, table: str, fmt: str):
    office = office_for(staff_user(), office_id)
    if table not in BUILDERS or fmt not in ("csv", "xlsx"):
        abort(404)
    form, period, names = _filters(office)
    if period is None:
        abort(400)
    tables = Tables(period, names, form.day.data or period.last, export=True)
    data = tables.by_key(table)
    filters = [(gettext("Office"), office.name), (gettext("From"), period.first.isoformat()),
               (gettext("Until"), period.last.isoformat()),
               (gettext("Per"), {c.value: c.label for c in form.granularity.choices}[
                   period.granularity]),
               (gettext("Service"), names.get(period.service_id, gettext("All services"))
                if period.service_id else gettext("All services"))]
    filters = [(str(k), str(v)) for k, v in filters]
    if table == "hours":
        filters.append((gettext("Day"), tables.day.isoformat()))
    name = f"{office.id}-{table}-{period.first.isoformat()}-{period.last.isoformat()}"
    if fmt == "csv":
        response = make_response(to_csv(data, filters))
        response.mimetype = "text/csv"
        response.charset = "utf-8"
    else:
        response = make_response(to_xlsx(data, filters, gettext("Filters")))
        response.mimetype = XLSX_TYPE
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@bp.app_template_filter("stat_number")
def stat_number(value) -> str:
    """A figure in the page's language (decimal comma in German)."""
    return number_text(value, current_language())


@bp.app_template_filter("stat_rows")
def stat_rows(table) -> Markup:
    """The body rows of a statistics table, rendered here rather than cell by cell in
    the template (a year per day has tens of thousands of cells)."""
    return rows_html(table, current_language())


@bp.app_template_filter("b64")
def b64(markup) -> str:
    """Text as base64 (the charts' SVG documents in data: URLs)."""
    return base64.b64encode(str(markup).encode()).decode("ascii")
