"""How well the waiting-time estimates held: each walk-in ticket's estimate when it was
drawn against its actual wait, per service and day (booking.queueing.estimator_error).

:func:`estimator_error_context` prepares what the partial
``admin/_estimator_error.html`` shows, for this page and the statistics page alike."""

from __future__ import annotations

from datetime import date, timedelta

from babel.numbers import format_decimal
from flask import render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import InputRequired, ValidationError

from booking import i18n
from booking.db import utcnow
from booking.i18n import current_language
from booking.offices.models import Office
from booking.queueing.estimator_error import estimator_error
from booking.web.admin import bp
from booking.web.admin.views import all_services
from booking.web.auth import office_for, require_role, staff_user

DEFAULT_DAYS = 14
MAX_DAYS = 92


def _minutes(value: float, lang: str) -> str:
    return format_decimal(value, format="#,##0.0", locale=i18n.format_locale(lang))


def estimator_error_context(office: Office, first: date, last: date) -> dict:
    """``estimator_error``: the rows of the partial (per service: each day, then the
    whole range), and the range."""
    lang = current_language()
    names = {s.id: s.text("name", lang) for s in all_services()}
    rows = [{
        "service": names.get(row.service_id, row.service_id),
        "day": (i18n.local_date(row.day, lang, "medium") if row.day is not None
                else gettext("All days")),
        "total": row.day is None,
        "count": row.count,
        "mean_abs_error": _minutes(row.mean_abs_error, lang),
        "bias": ("+" if row.bias > 0.05 else "") + _minutes(row.bias, lang),
    } for row in estimator_error(office, first, last)]
    return {"estimator_error": {"rows": rows, "first": first, "last": last}}


class RangeForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing

    first = DateField(_l("From"), validators=[InputRequired(_l("Enter a date."))])
    last = DateField(_l("To"), validators=[InputRequired(_l("Enter a date."))])

    def validate_last(self, field):
        if self.first.data and field.data:
            if field.data < self.first.data:
                raise ValidationError(gettext("The end lies before the start."))
            if (field.data - self.first.data).days >= MAX_DAYS:
                raise ValidationError(gettext("At most %(days)s days at once.", days=MAX_DAYS))


@bp.get("/offices/<office_id>/estimates")
@require_role("manager")
def estimates(office_id: str):
    office = office_for(staff_user(), office_id)
    today = utcnow().astimezone(office.tz).date()
    first, last = today - timedelta(days=DEFAULT_DAYS - 1), today
    asked = "first" in request.args or "last" in request.args
    form = RangeForm(request.args if asked else None, data={"first": first, "last": last})
    status = 200
    if asked:
        if form.validate():
            first, last = form.first.data, form.last.data
        else:
            status = 422
    return render_template("admin/estimates.html", office=office, form=form,
                           **estimator_error_context(office, first, last)), status
