"""Lottery releases: a manager marks new capacity of a service at their offices
(administrators: any office) to be given by a draw, with an announced entry window."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DateTimeLocalField, SelectChoice, SelectField, ValidationError
from wtforms.validators import DataRequired, InputRequired

from booking.db import db, utcnow
from booking.fairness import lottery as lotteries
from booking.i18n import current_language
from booking.offices.models import Office, Service
from booking.web.admin import bp
from booking.web.admin.forms import MultiCheckboxField, check_year
from booking.web.admin.views import all_services, service_choices
from booking.web.auth import offices_of, require_role, staff_user


class LotteryForm(FlaskForm):
    """A lottery release; the window's times are the offices' local time."""

    service = SelectField(_l("Service"))
    offices = MultiCheckboxField(_l("Offices taking part"), validators=[
        DataRequired(_l("Please choose at least one office."))])
    first_day = DateField(_l("First day of the new appointments"), validators=[
        InputRequired(_l("Please enter a date."))])
    last_day = DateField(_l("Last day of the new appointments"), validators=[
        InputRequired(_l("Please enter a date."))])
    opens_at = DateTimeLocalField(_l("Entries open"), validators=[
        InputRequired(_l("Please enter a date and time."))])
    closes_at = DateTimeLocalField(_l("Entries close and the draw takes place"), validators=[
        InputRequired(_l("Please enter a date and time."))])

    def validate_first_day(self, field):
        check_year(field)

    def validate_last_day(self, field):
        check_year(field)
        if self.first_day.data and field.data and field.data < self.first_day.data:
            raise ValidationError(_l("The last day must not be before the first."))

    def validate_opens_at(self, field):
        check_year(field)

    def validate_closes_at(self, field):
        check_year(field)
        if self.opens_at.data and field.data and field.data <= self.opens_at.data:
            raise ValidationError(_l("Entries must close after they open."))


ERRORS = {
    lotteries.NotOffered: ("offices", lambda: gettext(
        "Not every chosen office offers this service.")),
    lotteries.BadWindow: ("closes_at", lambda: gettext(
        "Entries must close in the future and before the first day of the new "
        "appointments.")),
    lotteries.Overlaps: ("first_day", lambda: gettext(
        "Another lottery of this service at one of these offices covers some of these "
        "days and is not drawn yet.")),
}


def _local(value: datetime, office: Office) -> datetime:
    return value.replace(tzinfo=office.tz).astimezone(UTC)


@bp.route("/lotteries/", methods=["GET", "POST"])
@require_role("manager")
def lotteries_page():
    user = staff_user()
    offices = offices_of(user)
    form = LotteryForm()
    form.service.choices = service_choices(all_services())
    form.offices.choices = [SelectChoice(office.id, office.name) for office in offices]
    if form.validate_on_submit():
        chosen = [office for office in offices if office.id in form.offices.data]
        service = db.session.get(Service, form.service.data)
        try:
            lotteries.create_lottery(
                service, chosen, form.first_day.data, form.last_day.data,
                _local(form.opens_at.data, chosen[0]), _local(form.closes_at.data, chosen[0]),
                user, utcnow())
        except lotteries.LotteryError as exc:
            name, message = ERRORS[type(exc)]
            form[name].errors = [message()]
        else:
            flash(gettext("The lottery is announced. Until the draw, these days' "
                          "appointments cannot be booked directly."), "success")
            return redirect(url_for("admin.lotteries_page"), 303)
    return render_template(
        "admin/lotteries.html", form=form, lotteries=lotteries.get_lotteries(
            [office.id for office in offices]), lang=current_language(),
    ), 422 if form.errors else 200
