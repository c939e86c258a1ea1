"""Embeddable status widget for the city website: the open live feed as a small HTML page
(no JavaScript), which the configured sites (WIDGET_FRAME_ANCESTORS) may show in a frame."""

from flask import Blueprint

bp = Blueprint("widget", __name__)

from booking.web.widget import views  # noqa: E402,F401
