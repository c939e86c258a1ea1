"""Citizen views. Thin: parse input, call one operation, render."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import (
    Response,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import select, text

from booking import i18n
from booking.calendars.ical import FeedSlot, slots_feed
from booking.db import db, utcnow
from booking.i18n import current_language
from booking.offices.models import Office, Service
from booking.scheduling import holds, next_free, operations, visits
from booking.scheduling.errors import (
    KeyReused,
    NotBookable,
    SlotTaken,
)
from booking.scheduling.idempotency import new_key
from booking.web import bot_check, caching, fairness, validation, visit_form
from booking.web.citizen import bp
from booking.web.citizen.forms import (
    NEXT_FREE_TIMES,
    NEXT_FREE_WEEKDAYS,
    BookingForm,
)
from booking.web.citizen.lottery import announcements
from booking.web.citizen.pages import (
    calendar_context,
    conflict_message,
    parse_start,
    render_calendar,
)


def _office_service(office_id: str, service_id: str) -> tuple[Office, Service]:
    office = db.session.get(Office, office_id)
    service = db.session.get(Service, service_id)
    if office is None or service is None or service not in office.services:
        abort(404)
    return office, service


@bp.get("/healthz")
def healthz():
    db.session.execute(text("select 1"))
    return {"status": "ok"}


@bp.get("/")
def catalogue():
    services = db.session.scalars(select(Service).order_by(Service.position, Service.id)).all()
    return render_template("citizen/catalogue.html", services=services, lang=current_language())


@bp.get("/services/<service_id>")
def service(service_id: str):
    """The service, the offices offering it and the next free appointment in each, on
    the weekdays and times of day asked for, for the persons and further services asked
    for (a plain GET form: no script needed). Public: the same for everybody,
    microcached like the listings."""
    service = db.session.get(Service, service_id) or abort(404)
    chosen_days, chosen_times = request.args.getlist("weekday"), request.args.getlist("time")
    try:
        wanted = validation.time_filter(chosen_days, chosen_times)
        filter_error = None
    except ValueError as exc:
        wanted, filter_error = None, str(exc)
        chosen_days, chosen_times = [], []
    visit = visit_form.visit_from(None, service, request.args)
    now = utcnow()
    found = (next_free.next_free_everywhere(visit.lines, now, wanted)
             if wanted and not visit.error else [])
    failed = bool(filter_error or visit.error)
    response = make_response(render_template(
        "citizen/service.html", service=service, lang=current_language(),
        lotteries=announcements(service.id, now), next_free=found, visit=visit,
        filtered=bool(wanted and (wanted.weekdays or wanted.times)),
        chosen_days=chosen_days, chosen_times=chosen_times, filter_error=filter_error,
        weekday_choices=NEXT_FREE_WEEKDAYS, time_choices=NEXT_FREE_TIMES),
        422 if failed else 200)
    return response if failed else caching.public(response)


@bp.get("/offices/<office_id>/services/<service_id>/")
def calendar(office_id: str, service_id: str):
    office, service = _office_service(office_id, service_id)
    visit = visit_form.visit_from(office, service, request.args)  # several persons, services
    ctx = calendar_context(office, service, utcnow(), "citizen.book", "citizen.calendar",
                            lines=visit.lines, office_id=office.id, service_id=service.id,
                            **visit.fields)
    ctx["waitlist_url"] = url_for("citizen.waitlist", service_id=service.id, office=office.id)
    ctx["lotteries"] = announcements(service.id, utcnow(), office.id)
    response = render_calendar("citizen/calendar.html", {**ctx, "visit": visit, "lang": current_language()},
                                422 if visit.error else 200)
    return response if visit.error else caching.public(response)


@bp.route("/offices/<office_id>/services/<service_id>/book", methods=["GET", "POST"])
def book(office_id: str, service_id: str):
    office, service = _office_service(office_id, service_id)
    visit = visit_form.visit_from(office, service,
                                  request.form if request.method == "POST" else request.args)
    if visit.error:
        abort(400)
    form = BookingForm()
    start_at = parse_start(form.start.data if request.method == "POST"
                            else request.args.get("start"))
    form.start.data = start_at.isoformat()
    status = 200
    if request.method == "GET" and not operations.is_offered(office, visit.lines, start_at,
                                                                 utcnow()):
        flash(conflict_message(NotBookable()), "error")
        return redirect(url_for("citizen.calendar", office_id=office.id, service_id=service.id,
                                day=start_at.astimezone(office.tz).date().isoformat(),
                                **visit.fields))
    if form.validate_on_submit() and bot_check.check_form(form, bound_to=form.key.data):
        citizen = operations.Citizen(form.name.data, form.email.data, form.phone.data, current_language())
        now = utcnow()
        try:
            appointment, token = operations.book_appointment(
                office, visit.lines, start_at, citizen, now, key=form.key.data,
                **fairness.booking_options(office, now)
            )
        except (NotBookable, SlotTaken) as exc:
            flash(conflict_message(exc), "error")
            return redirect(url_for("citizen.calendar", office_id=office.id,
                                    service_id=service.id, **visit.fields,
                                    day=start_at.astimezone(office.tz).date().isoformat()))
        except holds.CapReached as exc:
            form.email.errors = [fairness.cap_message(exc.limit)]
            status = 422
        except KeyReused:
            # sent again after a change (back button): it books when sent once more
            flash(gettext("This form was already used for a booking with other details. "
                          "To book another appointment, please send it again."), "error")
            form.key.data = new_key()
            status = 422
        else:
            if appointment.is_held:
                flash(gettext("Your appointment is reserved until %(until)s. Please confirm "
                              "it with the link in the email we have sent you.",
                              until=_local(appointment.held_until, office)), "success")
            else:
                flash(gettext("Your appointment is booked. We have sent you a confirmation "
                              "by email."), "success")
            g.private_page = True  # the redirect carries the manage token: no-store, no Referer
            return redirect(url_for("citizen.manage", code=appointment.code, token=token,
                                    new=1), 303)
    if form.errors:
        status = 422
    return render_template("citizen/book.html", form=form, office=office, service=service,
                           start_at=start_at, end_at=_end_at(visit.lines, start_at),
                           visit=visit,
                           release_rule=fairness.release_rule(office), lang=current_language()), status


def _local(value: datetime, office: Office) -> str:
    return i18n.local_datetime(value, office.tz, current_language())


def _end_at(lines, start_at: datetime) -> datetime:
    return start_at + timedelta(minutes=visits.visit_minutes(lines))


@bp.get("/offices/<office_id>/services/<service_id>/slots.ics")
def slots_ics(office_id: str, service_id: str):
    office, service = _office_service(office_id, service_id)
    now = utcnow()
    name = service.text("name", current_language())
    free = operations.list_free_slots(office, visits.single(service), now)
    feed = slots_feed(
        f"{name} – {office.name}",
        office.address,
        [FeedSlot(f"{office.id}-{service.id}-{s.start_at:%Y%m%dT%H%MZ}@slots",
                  s.start_at, s.end_at, gettext("Free: %(service)s", service=name))
         for s in free],
        now,
    )
    return caching.public(Response(feed, mimetype="text/calendar", headers={
        "Content-Disposition": f'inline; filename="{office.id}-{service.id}.ics"'}))


@bp.app_template_global()
def today_local(tz) -> date:
    return utcnow().astimezone(tz).date()
