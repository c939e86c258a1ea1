"""Back office: overview, office settings, service definitions, counters.

Every view declares its least role and checks the office it touches with ``office_for``:
managers reach their own offices, administrators all. Service definitions are shared by
offices, so only administrators create or edit them (and create offices).
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import SelectChoice

from booking.db import db, utcnow
from booking.i18n import current_language
from booking.offices import operations as ops
from booking.offices.models import Counter, Office, Service
from booking.waitlist import stats as waitlist_stats
from booking.web.admin import bp
from booking.web.admin.forms import (
    CounterForm,
    NewOfficeForm,
    NewServiceForm,
    OfficeForm,
    ServiceForm,
)
from booking.web.auth import office_for, offices_of, require_role, staff_user

# ---------------------------------------------------------------- shared by the admin views

def all_services() -> list[Service]:
    return list(db.session.scalars(select(Service).order_by(Service.position, Service.id)))


def service_choices(services) -> list[SelectChoice]:
    lang = current_language()
    return [SelectChoice(s.id, s.text("name", lang)) for s in services]


def in_office(model, object_id: int, office: Office):
    """A counter, rule or closure of ``office``; 404 for anything else."""
    obj = db.session.get(model, object_id)
    if obj is None or obj.office_id != office.id:
        abort(404)
    return obj


def config_error_message(exc: ops.ConfigError) -> str:
    if isinstance(exc, ops.DurationNotMultiple):
        return gettext("%(service)s takes %(duration)s minutes: that is no multiple of the "
                       "slot length of %(slot)s minutes.",
                       service=exc.service.text("name", current_language()),
                       duration=exc.service.duration_minutes, slot=exc.slot_minutes)
    if isinstance(exc, ops.SlotLengthLocked):
        return gettext("The slot length cannot change while %(count)s confirmed appointments "
                       "lie ahead.", count=exc.count)
    if isinstance(exc, ops.DuplicateId):
        return gettext("This short name is taken already.")
    return gettext("This change is not possible.")


def respond(template: str, status: int = 200, **context):
    return render_template(template, **context), status


# ---------------------------------------------------------------- overview

@bp.get("/")
@require_role("manager")
def index():
    user = staff_user()
    return render_template("admin/index.html", user=user, offices=offices_of(user))


# ---------------------------------------------------------------- offices

@bp.route("/offices/new", methods=["GET", "POST"])
@require_role("admin")
def office_new():
    form = NewOfficeForm()
    form.services.choices = form.combinable.choices = service_choices(all_services())
    if request.method == "GET":
        form.max_persons.data, form.max_services.data = 6, 5
        form.combinable.data = [s.id for s in all_services()]
        form.slot_minutes.data, form.lead_time_minutes.data = 15, 120
        form.horizon_days.data, form.cancel_deadline_minutes.data = 60, 60
        form.state.data = "HE"
        form.queue_window_minutes.data, form.queue_recall_cooldown_seconds.data = 15, 30
        form.queue_max_recalls.data = 2
        form.reminder_hours.data, form.waitlist_hold_minutes.data = 24, 120
        form.max_active_per_email.data, form.release_delay_minutes.data = 2, 10
    if form.validate_on_submit():
        try:
            office = ops.create_office(form.office_id.data, form.values(), form.services.data,
                                       staff_user(), utcnow(), form.combinable.data)
        except ops.DuplicateId as exc:
            form.office_id.errors = [config_error_message(exc)]
        except ops.ConfigError as exc:
            form.services.errors = [config_error_message(exc)]
        else:
            flash(gettext("The office was created."), "success")
            return redirect(url_for("admin.office", office_id=office.id), 303)
    return respond("admin/office_new.html", 422 if form.errors else 200, form=form)


@bp.route("/offices/<office_id>/", methods=["GET", "POST"])
@require_role("manager")
def office(office_id: str):
    office = office_for(staff_user(), office_id)
    form = OfficeForm(obj=office)
    form.services.choices = form.combinable.choices = service_choices(all_services())
    if request.method == "GET":
        form.services.data = [s.id for s in office.services]
        form.combinable.data = sorted(ops.get_combinable(office))
    if form.validate_on_submit():
        try:
            ops.update_office(office, form.values(), form.services.data, staff_user(),
                              utcnow(), form.combinable.data)
        except ops.SlotLengthLocked as exc:
            form.slot_minutes.errors = [config_error_message(exc)]
        except ops.ConfigError as exc:
            form.services.errors = [config_error_message(exc)]
        else:
            flash(gettext("The settings were saved."), "success")
            return redirect(url_for("admin.office", office_id=office.id), 303)
    return respond("admin/office.html", 422 if form.errors else 200, office=office, form=form,
                   **_waitlist_counts(office))


WAITLIST_DAYS = 30


def _waitlist_counts(office: Office) -> dict:
    """The waitlist's offers made, taken and expired at the office in the last 30 days."""
    last = utcnow().astimezone(office.tz).date()
    first = last - timedelta(days=WAITLIST_DAYS - 1)
    names = {s.id: s.text("name", current_language()) for s in all_services()}
    return {"waitlist_first": first, "waitlist_last": last,
            "waitlist_counts": [(names.get(c.service_id, c.service_id), c)
                                for c in waitlist_stats.get_offer_counts(office.id, first,
                                                                         last)]}


# ---------------------------------------------------------------- services (administrators)

@bp.get("/services/")
@require_role("admin")
def services():
    return render_template("admin/services.html", services=all_services())


@bp.route("/services/new", methods=["GET", "POST"])
@require_role("admin")
def service_new():
    form = NewServiceForm()
    if request.method == "GET":
        form.duration_minutes.data, form.queue_prefix.data = 15, "A"
    if form.validate_on_submit():
        try:
            ops.create_service(form.service_id.data, form.values(), staff_user(), utcnow())
        except ops.ConfigError as exc:
            form.service_id.errors = [config_error_message(exc)]
        else:
            flash(gettext("The service was created."), "success")
            return redirect(url_for("admin.services"), 303)
    return respond("admin/service.html", 422 if form.errors else 200, form=form, service=None)


@bp.route("/services/<service_id>", methods=["GET", "POST"])
@require_role("admin")
def service_edit(service_id: str):
    service = db.session.get(Service, service_id)
    if service is None:
        abort(404)
    form = ServiceForm(obj=service)
    if request.method == "GET" and service.fee_cents is not None:
        form.fee.data = service.fee_cents / 100
    if form.validate_on_submit():
        try:
            ops.update_service(service, form.values(), staff_user(), utcnow())
        except ops.ConfigError as exc:
            form.duration_minutes.errors = [config_error_message(exc)]
        else:
            flash(gettext("The service was saved."), "success")
            return redirect(url_for("admin.services"), 303)
    return respond("admin/service.html", 422 if form.errors else 200, form=form,
                   service=service)


# ---------------------------------------------------------------- counters

@bp.route("/offices/<office_id>/counters", methods=["GET", "POST"])
@require_role("manager")
def counters(office_id: str):
    office = office_for(staff_user(), office_id)
    form = CounterForm()
    form.services.choices = service_choices(office.services)
    if form.validate_on_submit():
        ops.create_counter(office, form.name.data.strip(), form.services.data, staff_user(),
                           utcnow())
        flash(gettext("The counter was created."), "success")
        return redirect(url_for("admin.counters", office_id=office.id), 303)
    return respond("admin/counters.html", 422 if form.errors else 200, office=office,
                   form=form)


@bp.route("/offices/<office_id>/counters/<int:counter_id>", methods=["GET", "POST"])
@require_role("manager")
def counter(office_id: str, counter_id: int):
    office = office_for(staff_user(), office_id)
    counter = in_office(Counter, counter_id, office)
    form = CounterForm(obj=counter)
    form.services.choices = service_choices(office.services)
    if request.method == "GET":
        form.services.data = [s.id for s in counter.services]
    if form.validate_on_submit():
        ops.update_counter(counter, form.name.data.strip(), form.services.data, staff_user(),
                           utcnow())
        flash(gettext("The counter was saved."), "success")
        return redirect(url_for("admin.counters", office_id=office.id), 303)
    return respond("admin/counter.html", 422 if form.errors else 200, office=office,
                   counter=counter, form=form)


@bp.post("/offices/<office_id>/counters/<int:counter_id>/delete")
@require_role("manager")
def counter_delete(office_id: str, counter_id: int):
    office = office_for(staff_user(), office_id)
    counter = in_office(Counter, counter_id, office)  # the CSRF token is checked globally
    try:
        with db.session.begin_nested():
            ops.delete_counter(counter, staff_user(), utcnow())
    except IntegrityError:
        flash(gettext("The counter is still in use and cannot be deleted."), "error")
    else:
        flash(gettext("The counter was deleted."), "success")
    return redirect(url_for("admin.counters", office_id=office.id), 303)
