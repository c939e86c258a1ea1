"""A test-only blueprint around booking.realtime.

Never registered by the product: tests add it to their own app, and
tests/test_realtime.py runs ``tests.realtime_wsgi:app`` (this blueprint on the
production app) under gunicorn with deploy/gunicorn.conf.py.
"""

from __future__ import annotations

import os

from flask import Blueprint, Flask, current_app, request, url_for
from flask_babel import get_locale
from sqlalchemy import text

from booking import realtime
from booking.db import db
from booking.extensions import csrf

bp = Blueprint("realtime_test", __name__)


def render(name: str):
    def _render(ev: realtime.Event | None) -> list[tuple[str, str]]:
        # a query per render: it needs (and must give back) a connection of its own
        one = db.session.execute(text("select 1")).scalar_one()
        if ev is None or ev.resync:
            kind = "init" if ev is None else "resync"
            # url_for and the request's language work: each render runs in a request context
            link = url_for("realtime_test.stream", name=name)
            return [(kind, f"<p>{name}</p>\n<p>pid {os.getpid()} select {one}</p>\n"
                           f"<a href=\"{link}\" lang=\"{get_locale()}\">")]
        return [("update", f"{ev.channel}\n{ev.data.get('html', '')}"),
                ("count", str(ev.data.get("n", "")))]
    return _render


@bp.get("/_test/streams/<name>/events")
def stream(name: str):
    return realtime.sse_response([f"test:{name}"], render(name))


@bp.post("/_test/streams/<name>/publish")
def publish(name: str):
    body = request.get_json()
    realtime.publish(f"test:{name}", body)
    if body.get("fail"):
        return {"error": "rolled back"}, 409  # commit_request rolls back: nothing is sent
    return {"pid": os.getpid()}


@bp.get("/_test/subscribers")
def subscribers():
    return {"pid": os.getpid(), "count": realtime.backend().hub.subscriber_count()}


@bp.get("/_test/advisory-lock/<int:key>")
def advisory_lock(key: int):
    """Waits in PostgreSQL until the test releases the lock (a slow query)."""
    db.session.execute(text("select pg_advisory_xact_lock(:key)"), {"key": key})
    return {"pid": os.getpid(), "backend": current_app.extensions["realtime"].kind}


def register(app: Flask) -> Flask:
    app.register_blueprint(bp)
    csrf.exempt(bp)
    return app
