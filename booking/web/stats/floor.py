"""The manager's live floor view: a page that a reload refreshes, and over the office's
event stream (htmx SSE, like the display board) its fragment swapped on every change."""

from __future__ import annotations

from flask import render_template

from booking import realtime
from booking.db import db, utcnow
from booking.offices.models import Office
from booking.queueing import events
from booking.statistics.floor import floor_now
from booking.web.auth import office_for, require_role, staff_user
from booking.web.stats import bp


def _fragment(office: Office) -> str:
    return render_template("stats/_floor.html", office=office, floor=floor_now(office, utcnow()))


@bp.get("/offices/<office_id>/floor/")
@require_role("manager")
def floor(office_id: str):
    office = office_for(staff_user(), office_id)
    return render_template("stats/floor.html", office=office, active="floor",
                           fragment=_fragment(office))


@bp.get("/offices/<office_id>/floor/fragment")
@require_role("manager")
def floor_fragment(office_id: str):
    return _fragment(office_for(staff_user(), office_id))


@bp.get("/offices/<office_id>/floor/events")
@require_role("manager")
def floor_events(office_id: str):
    office_id = office_for(staff_user(), office_id).id

    def render(event) -> list[tuple[str, str]]:
        # not shared between streams: few managers watch, and the page is theirs
        office = db.session.get(Office, office_id)
        if office is None:
            return []
        return [("floor", _fragment(office))]

    return realtime.sse_response([events.office_channel(office_id)], render)
