"""Queue events for live screens: published in the transaction, delivered after commit.

Payloads carry ids only (displays render the current state themselves), so they stay
far below PostgreSQL's NOTIFY limit and never contain anything personal.
"""

from __future__ import annotations

from booking import realtime


def office_channel(office_id: str) -> str:
    return f"office:{office_id}"


def office_changed(office_id: str, kind: str, **data) -> None:
    realtime.publish(office_channel(office_id), {"kind": kind, **data})


def ticket_changed(ticket, kind: str) -> None:
    office_changed(ticket.office_id, kind, ticket=ticket.id, number=ticket.number,
                   counter=ticket.counter_id)
