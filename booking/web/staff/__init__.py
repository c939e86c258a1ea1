"""Staff pages: login, password, dashboard, day schedule, phone bookings, calendar feed."""

from flask import Blueprint

bp = Blueprint("staff", __name__)

from booking.web.staff import feed, schedule, views  # noqa: E402,F401
