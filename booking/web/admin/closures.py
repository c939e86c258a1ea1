"""Closures: planned ones listed and deleted; a new one (whole office or one counter) is
first a dry run ("Show who is affected"), then "Close and notify" cancels exactly the
appointments shown, in one transaction, each citizen with an address getting an email."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from wtforms import SelectChoice

from booking.db import utcnow
from booking.offices import closures as office_closures
from booking.offices import operations as ops
from booking.offices.models import Closure, Office
from booking.web.admin import bp
from booking.web.admin.forms import ClosureForm, format_ids, parse_ids
from booking.web.admin.views import in_office
from booking.web.auth import office_for, require_role, staff_user


def _form(office: Office) -> ClosureForm:
    form = ClosureForm()
    form.counter.choices = [SelectChoice("", gettext("The whole office"))] + [
        SelectChoice(str(c.id), gettext("Counter %(name)s", name=c.name))
        for c in office.counters]
    return form


def _draft(form: ClosureForm, office: Office, now: datetime) -> office_closures.ClosureDraft | None:
    """The closure in UTC, or None with the offending field marked."""
    tz = office.tz
    last_day = form.last_day.data or form.first_day.data
    starts_at = datetime.combine(form.first_day.data, form.start_time.data or time.min,
                                 tzinfo=tz)
    if form.end_time.data:
        ends_at = datetime.combine(last_day, form.end_time.data, tzinfo=tz)
    else:
        ends_at = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=tz)
    if ends_at <= starts_at:
        form.end_time.errors = [gettext("The end must be after the start.")]
        return None
    if ends_at <= now:
        form.first_day.errors = [gettext("This time is over already.")]
        return None
    return office_closures.ClosureDraft(starts_at=starts_at.astimezone(UTC), ends_at=ends_at.astimezone(UTC),
                            counter_id=int(form.counter.data) if form.counter.data else None,
                            reason=" ".join(form.reason.data.split()))


def _page(office: Office, form: ClosureForm, now: datetime, status: int = 200, *,
          affected=None, notice: str | None = None):
    closures = office_closures.get_planned_closures(office, now)
    return render_template(
        "admin/closures.html", office=office, form=form, closures=closures,
        affected=affected,
        seen=format_ids(affected) if affected is not None else None, notice=notice,
    ), status


@bp.route("/offices/<office_id>/closures/", methods=["GET", "POST"])
@require_role("manager")
def closures(office_id: str):
    office = office_for(staff_user(), office_id)
    form, now = _form(office), utcnow()
    if not form.validate_on_submit():
        return _page(office, form, now, 422 if form.errors else 200)
    draft = _draft(form, office, now)
    if draft is None:
        return _page(office, form, now, 422)
    if request.form.get("action") != "close":
        return _page(office, form, now, affected=office_closures.get_affected(office, draft, now))
    try:
        _, cancelled = office_closures.close(office, draft, parse_ids(form.seen.data), staff_user(), now)
    except ops.DecisionNeeded as exc:
        notice = gettext("Please check the appointments that will be cancelled, then close.")
        if parse_ids(form.seen.data) is not None:
            notice = gettext("The list of affected appointments has changed. Please check it "
                             "again, then close.")
        return _page(office, form, now, 422, affected=exc.appointments, notice=notice)
    emails = sum(1 for a in cancelled if a.email)
    flash(gettext("The closure was saved."), "success")
    if cancelled:
        flash(ngettext("%(num)d appointment was cancelled.",
                       "%(num)d appointments were cancelled.", len(cancelled)), "success")
        flash(ngettext("%(num)d citizen gets a cancellation email.",
                       "%(num)d citizens get a cancellation email.", emails), "success")
        if len(cancelled) > emails:
            flash(ngettext("%(num)d citizen has no email address: please phone them.",
                           "%(num)d citizens have no email address: please phone them.",
                           len(cancelled) - emails), "warning")
    return redirect(url_for("admin.closures", office_id=office.id), 303)


@bp.post("/offices/<office_id>/closures/<int:closure_id>/delete")
@require_role("manager")
def closure_delete(office_id: str, closure_id: int):
    office = office_for(staff_user(), office_id)
    closure = in_office(Closure, closure_id, office)  # the CSRF token is checked globally
    office_closures.delete_closure(closure, staff_user(), utcnow())
    flash(gettext("The closure was deleted. Appointments cancelled for it stay cancelled."),
          "success")
    return redirect(url_for("admin.closures", office_id=office.id), 303)
