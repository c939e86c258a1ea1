"""The clerk's counter screen: call, recall, serve, transfer, park; live waiting list."""

from flask import Blueprint

bp = Blueprint("counter", __name__)

from booking.web.counter import views  # noqa: E402,F401
