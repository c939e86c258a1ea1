"""Which trusted portal sends this request: the API key in its ``X-Api-Key`` header.

:func:`trusted_portal` is what the JSON API asks instead of a proof of work, and what the
rate limiter asks for its exemption; it reads the database once per request.
"""

from __future__ import annotations

from flask import g, request

from booking.fairness import portal_keys
from booking.fairness.models import PortalKey

HEADER = "X-Api-Key"
_UNSET = object()


def sent_key() -> str | None:
    """The key the request carries, or None (no header, or an empty one)."""
    return request.headers.get(HEADER) or None


def trusted_portal() -> PortalKey | None:
    """The unrevoked portal key sent with this request, or None."""
    found = g.get("trusted_portal", _UNSET)
    if found is _UNSET:
        found = portal_keys.get_active_key(sent_key())
        g.trusted_portal = found
    return found
