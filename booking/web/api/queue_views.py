"""JSON API of the walk-in queue: kiosk tickets, check-in, counters, the display."""

from __future__ import annotations

from flask import abort, current_app, jsonify, request
from flask_babel import gettext

from booking.db import db, utcnow
from booking.extensions import csrf
from booking.i18n import current_language
from booking.offices.models import Office
from booking.queueing import arrivals, counter_operations, errors, reminders, waits
from booking.scheduling.codes import normalise_code
from booking.scheduling.queries import get_appointment_by_code
from booking.web import validation
from booking.web.api import bp
from booking.web.api.views import ApiError, _api_error, _json_object
from booking.web.auth import is_session_authenticated, require_role, staff_user
from booking.web.queue_presenters import (
    counter_for,
    display_json,
    public_ticket,
    queue_error_message,
    queue_error_status,
    ticket_for,
    ticket_json,
)


@bp.errorhandler(errors.QueueError)
def _queue_error(exc: errors.QueueError):
    if isinstance(exc, errors.ServiceNotOffered):  # the body's service: a field error
        return _api_error(ApiError(422, gettext("Please correct the marked fields."),
                                   {"service": queue_error_message(exc)}))
    return jsonify({"error": queue_error_message(exc)}), queue_error_status(exc)


def _office(office_id: str) -> Office:
    return db.session.get(Office, office_id) or abort(404, gettext("Unknown office."))



@bp.before_request
def _csrf_for_session_writes():
    """Staff API calls authenticated by the browser session (not a bearer token) need the
    CSRF token in the X-CSRFToken header, like the forms: a cookie alone must not be
    enough to call tickets."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and is_session_authenticated():
        csrf.protect()


@bp.post("/offices/<office_id>/tickets")
def draw_ticket(office_id: str):
    office = _office(office_id)
    data = _json_object()
    service_id = data.get("service")
    if not isinstance(service_id, str) or not service_id:
        raise ApiError(422, gettext("Please correct the marked fields."),
                       {"service": gettext("Choose a service.")})
    now = utcnow()
    ticket, state = arrivals.draw_ticket(office, service_id, now, language=current_language(),
                                         always_open=current_app.config["QUEUE_ALWAYS_OPEN"])
    return jsonify(ticket_json(ticket, now, state)), 201


@bp.post("/offices/<office_id>/checkins")
def check_in(office_id: str):
    office = _office(office_id)
    data = _json_object()
    code = data.get("code")
    if not isinstance(code, str) or not normalise_code(code):
        raise ApiError(422, gettext("Please correct the marked fields."),
                       {"code": gettext("Enter the booking code.")})
    now = utcnow()
    ticket, state = arrivals.check_in(office, get_appointment_by_code(normalise_code(code)), now)
    return jsonify(ticket_json(ticket, now, state)), 201


@bp.get("/tickets/<ticket_id>")
def ticket(ticket_id: str):
    return jsonify(ticket_json(public_ticket(ticket_id), now=utcnow()))


@bp.post("/tickets/<ticket_id>/reminder")
def ticket_reminder(ticket_id: str):
    """One email when three people are ahead of the waiting ticket (at once if they are
    already that close). The address is kept only until that email is queued."""
    found = public_ticket(ticket_id)
    data = _json_object()
    try:
        email = validation.clean_email(data.get("email"))
    except ValueError as exc:
        raise ApiError(422, gettext("Please correct the marked fields."),
                       {"email": str(exc)}) from None
    now = utcnow()
    reminders.ask_for_reminder(found, email, now)
    return jsonify({**ticket_json(found, now=now),
                    "reminder": "sent" if found.notified_at is not None else "asked"})


@bp.get("/offices/<office_id>/display")
def display(office_id: str):
    office = _office(office_id)
    now = utcnow()
    current, recent = waits.get_calls(office, now)
    return jsonify(display_json(office, current, recent, len(waits.get_waiting(office, now))))


# -- staff ------------------------------------------------------------------------------

def _counter_json(counter) -> dict:
    return {"id": counter.id, "name": counter.name, "office": counter.office_id,
            "services": [s.id for s in counter.services], "paused": counter.paused}


@bp.get("/counters")
@require_role("clerk")
def counters():
    from booking.web.auth import offices_of

    rows = [c for office in offices_of(staff_user()) for c in office.counters]
    return jsonify([_counter_json(c) for c in rows])


@bp.post("/counters/<int:counter_id>/call-next")
@require_role("clerk")
def call_next(counter_id: int):
    counter = counter_for(staff_user(), counter_id)
    now = utcnow()
    ticket = counter_operations.call_next(counter, now)
    if ticket is None:
        return "", 204
    return jsonify(ticket_json(ticket, now=now))


@bp.post("/counters/<int:counter_id>/pause")
@require_role("clerk")
def pause(counter_id: int):
    counter = counter_for(staff_user(), counter_id)
    data = _json_object() if request.get_data() else {}  # no body: pause
    paused = data.get("paused", True)
    if not isinstance(paused, bool):
        raise ApiError(422, gettext("Please correct the marked fields."),
                       {"paused": gettext("true or false.")})
    counter_operations.set_paused(counter, paused, actor=staff_user(), now=utcnow())
    return jsonify(_counter_json(counter))


def _ticket_action(ticket_id: str, action):
    ticket = ticket_for(staff_user(), ticket_id)
    now = utcnow()
    action(ticket, now)
    return jsonify(ticket_json(ticket, now=now))


_ACTIONS = {
    "recall": counter_operations.recall,
    "start": counter_operations.start,
    "finish": counter_operations.finish,
    "no-show": counter_operations.no_show,
    "park": counter_operations.park,
}


@bp.post('/tickets/<ticket_id>/<any(recall, start, finish, "no-show", park):action>')
@require_role("clerk")
def ticket_action(ticket_id: str, action: str):
    return _ticket_action(ticket_id, _ACTIONS[action])


@bp.post("/tickets/<ticket_id>/transfer")
@require_role("clerk")
def transfer(ticket_id: str):
    data = _json_object()
    service_id = data.get("service")
    if not isinstance(service_id, str) or not service_id:
        raise ApiError(422, gettext("Please correct the marked fields."),
                       {"service": gettext("Choose a service.")})
    return _ticket_action(ticket_id, lambda t, now: counter_operations.transfer(t, service_id, now))


@bp.post("/tickets/<ticket_id>/return")
@require_role("clerk")
def return_ticket(ticket_id: str):
    data = _json_object()
    try:
        counter_id = validation.clean_id(data.get("counter"))
    except ValueError as exc:
        raise ApiError(422, gettext("Please correct the marked fields."),
                       {"counter": str(exc)}) from None
    counter = counter_for(staff_user(), counter_id)
    return _ticket_action(ticket_id, lambda t, now: counter_operations.return_ticket(t, counter, now))
