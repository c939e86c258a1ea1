"""The ticket machine in the office: walk-in tickets and appointment check-in (no login)."""

from flask import Blueprint

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")

from booking.web.kiosk import views  # noqa: E402,F401
