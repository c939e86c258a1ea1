"""The waiting-room display: current and recent calls, who waits for what, a clock.

Public and read-only: it shows ticket numbers and counters, never names. The page
renders its regions once; the event stream re-renders them from the database on every
queue event of the office (and on every reconnect), so a screen left open for weeks
resynchronises by itself after any gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort, render_template
from flask_babel import gettext

from booking import realtime
from booking.db import db, utcnow
from booking.i18n import current_language
from booking.offices.models import Office
from booking.queueing import events, waits
from booking.queueing.models import Ticket
from booking.web import live
from booking.web.display import bp
from booking.web.queue_presenters import counter_title


@dataclass(frozen=True)
class Call:
    number: str
    counter: str
    called_at: datetime | None
    recalls: int

    @property
    def key(self) -> str:
        """Changes with every call and recall: the page gongs when the newest key changes."""
        stamp = self.called_at.isoformat() if self.called_at else ""
        return f"{self.number}@{self.counter}@{stamp}"


@dataclass(frozen=True)
class ServiceLine:
    name: str
    waiting: int
    wait_minutes: int | None


def _office(office_id: str) -> Office:
    office = db.session.get(Office, office_id) if len(office_id) <= 40 else None
    if office is None:
        abort(404, gettext("Unknown office."))
    return office


def _call(ticket: Ticket) -> Call:
    return Call(ticket.number, counter_title(ticket.counter.name if ticket.counter else None) or "",
                ticket.called_at, ticket.recalls)


def get_board(office: Office, now: datetime, language: str) -> dict:
    current, recent = waits.get_calls(office, now, limit=6)
    view = waits.QueueView(office, now)
    lines = []
    for service in office.services:
        waiting = view.waiting_for(service.id)
        _, wait = view.for_new(service)
        lines.append(ServiceLine(service.text("name", language), waiting, wait))
    return {
        "office": office,
        "current": [_call(t) for t in current],
        "recent": [_call(t) for t in recent],
        "lines": lines,
        "waiting": len(view),
    }



@bp.get("/offices/<office_id>/display")
def board(office_id: str):
    office = _office(office_id)
    now = utcnow()
    return render_template("display/board.html", now=now,
                           **get_board(office, now, current_language()))


@bp.get("/offices/<office_id>/display/events")
def board_events(office_id: str):
    office_id = _office(office_id).id
    language = current_language()

    def render_now() -> list[tuple[str, str]]:
        office = db.session.get(Office, office_id)
        if office is None:
            return []
        board = get_board(office, utcnow(), language)
        return [
            ("calls", render_template("display/_calls.html", **board)),
            ("waiting", render_template("display/_waiting.html", **board)),
        ]

    def render(event) -> list[tuple[str, str]]:
        return live.shared(("board", office_id, language), event, render_now)

    return realtime.sse_response([events.office_channel(office_id)], render)

