"""Waiting-room display and ticket status page (no login; nothing personal is shown)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, redirect, render_template, request, session, url_for
from flask_babel import force_locale, gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, NotFound

from booking import realtime
from booking.db import db, utcnow
from booking.i18n import LANGUAGES
from booking.offices.models import Office
from booking.queueing import errors, events, reminders
from booking.queueing.models import WAITING, Ticket
from booking.queueing.waits import QueueView, TicketState
from booking.web import live
from booking.web.display import bp
from booking.web.display.forms import ReminderForm
from booking.web.queue_presenters import public_ticket, queue_error_message
from booking.web.ticket_status import TicketFacts, facts_from, ticket_facts


def _language(ticket: Ticket) -> str:
    """The visitor's choice (``?lang=``, or earlier on this device), else the language
    the ticket was drawn or booked in."""
    for wanted in (request.args.get("lang"), session.get("lang"), ticket.language):
        if wanted in LANGUAGES:
            return wanted
    return "de"


def _facts(ticket: Ticket, language: str) -> TicketFacts:
    return ticket_facts(ticket, utcnow(), language)


def _reminder(ticket: Ticket) -> str | None:
    """The reminder part of the status page: ``form``, ``asked``, ``sent`` or None (the
    number no longer waits: called, served or gone, a reminder is moot)."""
    if ticket.status != WAITING:
        return None
    if ticket.notify_email is not None:
        return "asked"
    if ticket.notified_at is not None:
        return "sent"
    return "form"


def _status_page(ticket: Ticket, language: str, form: ReminderForm | None = None,
                 status: int = 200, refused: str | None = None):
    g.private_page = True  # the id is the key: no caching, no Referer
    with force_locale(language):
        return render_template(
            "display/ticket.html", facts=_facts(ticket, language), ticket_id=ticket.id,
            lang=language, reminder="refused" if refused else _reminder(ticket),
            refused=refused, form=form or ReminderForm(),
            events_url=url_for("display.ticket_events", ticket_id=ticket.id, lang=language),
        ), status


@bp.get("/tickets/<ticket_id>")
def ticket_status(ticket_id: str):
    ticket = public_ticket(ticket_id)
    return _status_page(ticket, _language(ticket))


@bp.post("/tickets/<ticket_id>/reminder")
def ticket_reminder(ticket_id: str):
    """"Email me when three people are ahead": without JavaScript, post and redirect."""
    ticket = public_ticket(ticket_id)
    language = _language(ticket)
    with force_locale(language):
        form = ReminderForm()
        if not form.validate_on_submit():
            return _status_page(ticket, language, form, 422)
        try:
            reminders.ask_for_reminder(ticket, form.email.data, utcnow())
        except errors.ReminderAsked as exc:
            return _status_page(ticket, language, status=409,
                                refused=queue_error_message(exc))
        except errors.WrongState:
            return _status_page(ticket, language, status=409, refused=gettext(
                "Your number is no longer waiting, so no reminder is needed."))
    return redirect(url_for("display.ticket_status", ticket_id=ticket.id, lang=language), 303)


@bp.errorhandler(CSRFError)
def _form_expired(exc: CSRFError):
    """The status page stays open for hours: a form without a valid token (a lost
    session cookie) shows the page again with a renewed form, not a dead end."""
    ticket_id = (request.view_args or {}).get("ticket_id", "")
    ticket = db.session.get(Ticket, ticket_id) if len(ticket_id) <= 32 else None
    if ticket is None or request.endpoint != "display.ticket_reminder":
        return current_app.handle_http_exception(
            NotFound(gettext("Unknown ticket.")) if ticket is None else BadRequest())
    language = _language(ticket)
    with force_locale(language):
        form = ReminderForm()
        form.email.errors = [gettext("The page had expired. Please send the form again.")]
    return _status_page(ticket, language, form, 400)


@dataclass(frozen=True)
class _Snapshot:
    """What every status page of an office shows after one event: read once per event
    per process and shared by its open streams (see booking.web.live)."""

    office: str
    services: dict[tuple[str, str], str]  # (service id, language) -> name
    states: dict[str, TicketState]


def _snapshot(office_id: str) -> _Snapshot | None:
    office = db.session.get(Office, office_id)
    if office is None:
        return None
    view = QueueView(office, utcnow())
    names = {(s.id, lang): s.text("name", lang) for s in office.services for lang in LANGUAGES}
    return _Snapshot(office.name, names, view.states_of_the_day())


@bp.get("/tickets/<ticket_id>/events")
def ticket_events(ticket_id: str):
    """The status page's live parts as server-sent events: ``status`` (polite) and
    ``call`` (assertive), re-rendered on every event of the office and sent only when
    they changed (an unchanged text is not announced again). The queue is read once per
    event for all the office's open status pages of this process, not once per page."""
    ticket = public_ticket(ticket_id)
    ticket_id, office_id, language = ticket.id, ticket.office_id, _language(ticket)
    sent: dict[str, str] = {}
    last: list[TicketFacts | None] = [None]

    def facts_now(event) -> TicketFacts | None:
        if event is not None and not getattr(event, "resync", False):
            snapshot = live.shared(("ticket-states", office_id), event,
                                   lambda: _snapshot(office_id))
            state = snapshot.states.get(ticket_id) if snapshot is not None else None
            name = snapshot.services.get((state.service_id, language)) if state else None
            if state is not None and name is not None:
                return facts_from(state, snapshot.office, name)
        # a (re)connection, or a ticket of another day: read it on its own
        current = db.session.get(Ticket, ticket_id, populate_existing=True)
        return _facts(current, language) if current is not None else None

    def render(event) -> list[tuple[str, str]]:
        with force_locale(language):
            facts = facts_now(event)
            if facts is None or (facts == last[0] and event is not None
                                 and not getattr(event, "resync", False)):
                return []  # nothing changed for this ticket: no render, nothing sent
            last[0] = facts
            parts = {"status": render_template("display/_ticket_status.html", facts=facts),
                     "call": render_template("display/_ticket_call.html", facts=facts)}
            if facts.status != WAITING:  # the open page drops its reminder form
                parts["reminder"] = render_template("display/_ticket_reminder.html",
                                                    reminder=None)
        if event is None or getattr(event, "resync", False):
            sent.clear()  # a (re)connection: the page may be stale, send everything
        changed = [(name, html) for name, html in parts.items() if sent.get(name) != html]
        sent.update(parts)
        return changed

    g.private_page = True
    return realtime.sse_response([events.office_channel(office_id)], render)
