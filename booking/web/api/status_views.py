"""The open live feed: offices' status for city apps, the 115 service line and the city
website. Public, the same for everybody, cacheable for a few seconds, CORS open for GET."""

from __future__ import annotations

from flask import current_app, jsonify
from flask_babel import force_locale, gettext

from booking.db import db, utcnow
from booking.offices.models import Office
from booking.queueing import status
from booking.web import feed
from booking.web.api import bp


@bp.get("/offices/<office_id>/status")
def office_status(office_id: str):
    language, by_header = feed.feed_language()
    office = db.session.get(Office, office_id) if len(office_id) <= 40 else None
    if office is None:
        with force_locale(language):
            body = {"error": gettext("Not found"), "message": gettext("Unknown office.")}
        response = jsonify(body)
        response.status_code = 404
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response
    found = status.get_office_status(office, utcnow(),
                                     always_open=current_app.config["QUEUE_ALWAYS_OPEN"])
    return feed.public_feed(jsonify(feed.status_json(found, language)), by_header, cors=True)


@bp.get("/status")
def all_status():
    language, by_header = feed.feed_language()
    found = status.get_all_statuses(utcnow(), always_open=current_app.config["QUEUE_ALWAYS_OPEN"])
    return feed.public_feed(jsonify({"offices": [feed.status_json(s, language) for s in found]}),
                            by_header, cors=True)
