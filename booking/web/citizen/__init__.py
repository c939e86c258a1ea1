"""Citizen pages: catalogue, slot calendar, booking, managing an appointment."""

from flask import Blueprint

bp = Blueprint("citizen", __name__)

from booking.web.citizen import assistant, info, invitations, manage, views, waitlist  # noqa: E402,F401
