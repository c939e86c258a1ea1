"""JSON API for municipal portals, apps and kiosks: /api/v1."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from booking.web.api import bot_check, queue_views, views, waitlist_views  # noqa: E402,F401
