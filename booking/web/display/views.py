"""Waiting-room display and ticket status page (no login; nothing personal is shown)."""

from __future__ import annotations

from flask import abort, render_template
from flask_babel import gettext

from booking.db import db, utcnow
from booking.queueing.models import Ticket
from booking.web.display import bp
from booking.web.queue_presenters import ticket_json


def _ticket(ticket_id: str) -> Ticket:
    ticket = db.session.get(Ticket, ticket_id) if len(ticket_id) <= 32 else None
    if ticket is None:
        abort(404, gettext("Unknown ticket."))
    return ticket


@bp.get("/tickets/<ticket_id>")
def ticket_status(ticket_id: str):
    ticket = _ticket(ticket_id)
    return render_template("display/ticket.html", ticket=ticket,
                           status=ticket_json(ticket, now=utcnow()))
