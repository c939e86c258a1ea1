"""JSON API for municipal portals, apps and kiosks: /api/v1."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from booking.web.api import (  # noqa: E402,F401
    assistant_views,
    bot_check,
    next_free_views,
    queue_views,
    status_views,
    views,
    waitlist_views,
)
