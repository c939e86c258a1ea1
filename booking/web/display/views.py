"""Waiting-room display and ticket status page (no login; nothing personal is shown)."""

from __future__ import annotations

from flask import abort, g, render_template, request, session, url_for
from flask_babel import force_locale, gettext

from booking import realtime
from booking.db import db, utcnow
from booking.i18n import LANGUAGES
from booking.queueing import events
from booking.queueing.models import Ticket
from booking.queueing.operations import QueueView
from booking.web.display import bp
from booking.web.ticket_status import TicketFacts, ticket_facts


def _ticket(ticket_id: str) -> Ticket:
    ticket = db.session.get(Ticket, ticket_id) if len(ticket_id) <= 32 else None
    if ticket is None:
        abort(404, gettext("Unknown ticket."))
    return ticket


def _language(ticket: Ticket) -> str:
    """The visitor's choice (``?lang=``, or earlier on this device), else the language
    the ticket was drawn or booked in."""
    for wanted in (request.args.get("lang"), session.get("lang"), ticket.language):
        if wanted in LANGUAGES:
            return wanted
    return "de"


def _facts(ticket: Ticket, language: str) -> TicketFacts:
    return ticket_facts(ticket, QueueView(ticket.office, utcnow()), language)


@bp.get("/tickets/<ticket_id>")
def ticket_status(ticket_id: str):
    ticket = _ticket(ticket_id)
    g.private_page = True  # the id is the key: no caching, no Referer
    language = _language(ticket)
    with force_locale(language):
        return render_template(
            "display/ticket.html", facts=_facts(ticket, language),
            events_url=url_for("display.ticket_events", ticket_id=ticket.id, lang=language))


@bp.get("/tickets/<ticket_id>/events")
def ticket_events(ticket_id: str):
    """The status page's live parts as server-sent events: ``status`` (polite) and
    ``call`` (assertive), re-rendered from the database on every event of the office and
    sent only when they changed (an unchanged text is not announced again)."""
    ticket = _ticket(ticket_id)
    ticket_id, language = ticket.id, _language(ticket)
    sent: dict[str, str] = {}

    def render(event) -> list[tuple[str, str]]:
        current = db.session.get(Ticket, ticket_id, populate_existing=True)
        if current is None:
            return []
        with force_locale(language):
            facts = _facts(current, language)
            parts = {"status": render_template("display/_ticket_status.html", facts=facts),
                     "call": render_template("display/_ticket_call.html", facts=facts)}
        if event is None or getattr(event, "resync", False):
            sent.clear()  # a (re)connection: the page may be stale, send everything
        changed = [(name, html) for name, html in parts.items() if sent.get(name) != html]
        sent.update(parts)
        return changed

    g.private_page = True
    return realtime.sse_response([events.office_channel(ticket.office_id)], render)
