"""Statistics for managers (their offices) and administrators (all offices): figures,
charts, CSV/XLSX exports and the live floor view."""

from flask import Blueprint

bp = Blueprint("stats", __name__)

from booking.web.stats import floor, views  # noqa: E402,F401
