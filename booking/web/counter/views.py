"""Counter screen views: thin; every action is a POST form (CSRF) that works without
JavaScript (Post/Redirect/Get with a flashed message) and, sent by htmx, gets the screen's
main region back with the message. Domain errors re-render the screen with their message
and status (409, 422 for an unknown service); nothing raises a 500.

Calls, recalls and the other per-ticket actions are operational and frequent: they are
not in the audit log. Pausing and resuming a counter is (done by ``set_paused``).
"""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext

from booking import realtime
from booking.db import db, utcnow
from booking.extensions import htmx
from booking.i18n import current_language
from booking.offices.models import Counter, Service
from booking.queueing import counter_operations, errors
from booking.queueing import events as queue_events
from booking.queueing.models import PARKED, Ticket
from booking.web.auth import offices_of, require_role, staff_user
from booking.web.counter import bp, screen
from booking.web.queue_presenters import (
    counter_for,
    queue_error_message,
    queue_error_status,
    ticket_for,
)

COUNTER = "/<int:counter_id>"



def _is_partial() -> bool:
    return bool(htmx) and not htmx.history_restore_request


def _render(counter: Counter, *, message: str | None = None, error: str | None = None,
            transfer_error: str | None = None, focus: str | None = None,
            status: int = 200) -> Response:
    """The screen: its main region alone for htmx, else the whole page."""
    view = screen.build(counter, utcnow(), current_language())
    context = {
        "screen": view, "message": message, "error": error, "transfer_error": transfer_error,
        "focus": focus or "current-heading",
        # a page re-rendered after a POST switches language on the screen, not the action
        "switch_language_url": lambda lang: url_for("counter.screen", counter_id=counter.id,
                                                    lang=lang),
    }
    if _is_partial():
        body = render_template("counter/_screen.html", partial=True, **context)
    else:
        body = render_template("counter/screen.html", **context)
    response = Response(body, status)
    response.vary.add("HX-Request")
    return response


def _done(counter: Counter, message: str, focus: str) -> Response:
    if _is_partial():
        return _render(counter, message=message, focus=focus)
    flash(message, "success")
    response = redirect(url_for("counter.screen", counter_id=counter.id), 303)
    response.vary.add("HX-Request")
    return response


def _failed(counter: Counter, exc: errors.QueueError, **extra) -> Response:
    return _render(counter, error=queue_error_message(exc), status=queue_error_status(exc),
                   **extra)


# ---------------------------------------------------------------- pages


@bp.get("/")
@require_role("clerk")
def index():
    return render_template("counter/index.html",
                           offices=screen.chooser(offices_of(staff_user()), current_language()))


@bp.get(COUNTER, endpoint="screen")
@require_role("clerk")
def screen_page(counter_id: int):
    return _render(counter_for(staff_user(), counter_id))


@bp.get(COUNTER + "/events")
@require_role("clerk")
def events(counter_id: int):
    """Server-sent events: the waiting list, its count and the current ticket, rendered
    from the database on connect and on every event of the counter's office."""
    counter = counter_for(staff_user(), counter_id)
    office_id, lang = counter.office_id, current_language()

    def render(event) -> list[tuple[str, str]]:
        db.session.expire_all()  # the database is the truth, never the event's payload
        with force_locale(lang):
            found = db.session.get(Counter, counter_id)
            if found is None:
                return []
            view = screen.build(found, utcnow(), lang)
            return [
                ("count", render_template("counter/_count.html", screen=view)),
                ("waiting", render_template("counter/_waiting.html", screen=view)),
                ("current", render_template("counter/_current.html", screen=view)),
            ]

    return realtime.sse_response([queue_events.office_channel(office_id)], render)


# ---------------------------------------------------------------- counter actions


@bp.post(COUNTER + "/call-next")
@require_role("clerk")
def call_next(counter_id: int):
    counter = counter_for(staff_user(), counter_id)
    try:
        ticket = counter_operations.call_next(counter, utcnow())
    except errors.QueueError as exc:
        return _failed(counter, exc, focus="call-next")
    if ticket is None:
        return _render(counter, message=screen.waiting_label(0), focus="call-next")
    return _done(counter, gettext("Ticket %(number)s is called.", number=ticket.number),
                 "current-heading")


def _set_paused(counter_id: int, paused: bool) -> Response:
    user = staff_user()
    counter = counter_for(user, counter_id)
    try:
        counter_operations.set_paused(counter, paused, actor=user, now=utcnow())
    except errors.QueueError as exc:
        return _failed(counter, exc, focus="pause")
    message = gettext("The counter is paused.") if paused else gettext("The counter is open.")
    return _done(counter, message, "resume" if paused else "pause")


@bp.post(COUNTER + "/pause")
@require_role("clerk")
def pause(counter_id: int):
    return _set_paused(counter_id, True)


@bp.post(COUNTER + "/resume")
@require_role("clerk")
def resume(counter_id: int):
    return _set_paused(counter_id, False)


# ---------------------------------------------------------------- ticket actions


def _ticket(counter: Counter, ticket_id: str) -> Ticket:
    """A ticket this counter may act on: its own active ticket, or a parked one of its
    office. Unknown: 404; another office's (for a clerk): 403; else WrongState (409)."""
    ticket = ticket_for(staff_user(), ticket_id)
    if ticket.office_id != counter.office_id:
        raise errors.WrongState()
    if ticket.status != PARKED and ticket.counter_id != counter.id:
        raise errors.WrongState()
    return ticket


_ACTIONS = {
    # action: (operation, success message, element to focus afterwards)
    "recall": (lambda t, c, now: counter_operations.recall(t, now),
               lambda t: gettext("Ticket %(number)s is called again.", number=t.number),
               "recall"),
    "start": (lambda t, c, now: counter_operations.start(t, now),
              lambda t: gettext("Serving ticket %(number)s.", number=t.number), "finish"),
    "finish": (lambda t, c, now: counter_operations.finish(t, now),
               lambda t: gettext("Ticket %(number)s is finished.", number=t.number),
               "call-next"),
    "no-show": (lambda t, c, now: counter_operations.no_show(t, now),
                lambda t: gettext("Ticket %(number)s is recorded as a no-show.",
                                  number=t.number), "call-next"),
    "park": (lambda t, c, now: counter_operations.park(t, now),
             lambda t: gettext("Ticket %(number)s is parked.", number=t.number), "call-next"),
    "return": (lambda t, c, now: counter_operations.return_ticket(t, c, now),
               lambda t: gettext("Ticket %(number)s is back at this counter.",
                                 number=t.number), "current-heading"),
}


@bp.post(COUNTER + '/tickets/<ticket_id>/<any(recall, start, finish, "no-show", park, '
         'return):action>')
@require_role("clerk")
def ticket_action(counter_id: int, ticket_id: str, action: str):
    counter = counter_for(staff_user(), counter_id)
    operation, message, focus = _ACTIONS[action]
    try:
        ticket = _ticket(counter, ticket_id)
        operation(ticket, counter, utcnow())
    except errors.QueueError as exc:
        return _failed(counter, exc, focus=action)
    return _done(counter, message(ticket), focus)


@bp.post(COUNTER + "/tickets/<ticket_id>/transfer")
@require_role("clerk")
def transfer(counter_id: int, ticket_id: str):
    """Back into the queue for another service, keeping the original arrival time."""
    counter = counter_for(staff_user(), counter_id)
    service_id = request.form.get("service", "")
    try:
        ticket = _ticket(counter, ticket_id)
        counter_operations.transfer(ticket, service_id, utcnow())
    except errors.ServiceNotOffered as exc:
        message = gettext("Please choose one of the services of this office.")
        return _failed(counter, exc, transfer_error=message, focus="transfer-service")
    except errors.QueueError as exc:
        return _failed(counter, exc, focus="transfer")
    name = db.session.get(Service, ticket.service_id).text("name", current_language())
    return _done(counter, gettext("Ticket %(number)s waits again, now for %(service)s.",
                                  number=ticket.number, service=name), "call-next")

