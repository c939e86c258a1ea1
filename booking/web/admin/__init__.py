"""Back office for managers and administrators: office settings, services, counters,
availability rules (with a live preview), closures and the audit log."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from booking.web.admin import (  # noqa: E402,F401
    audit,
    closures,
    estimates,
    faq,
    invitations,
    lotteries,
    portal_keys,
    rules,
    views,
)
