"""Public, read-only queue screens: the waiting-room display and the ticket status page."""

from flask import Blueprint

bp = Blueprint("display", __name__)

from booking.web.display import board, views  # noqa: E402,F401
