"""The rate limits' settings and their defaults (enforced by booking.web.limits).

A limit is Flask-Limiter's notation: ``5/minute``, several joined by ``;``
(``5/minute;20/hour``). Each group has a limit per visitor (``RATELIMIT_<GROUP>``) and
one per client address (``RATELIMIT_<GROUP>_PER_ADDRESS``), the latter sized for many
people behind one address (a town hall's Wi-Fi, a mobile carrier's NAT).
"""

from __future__ import annotations

from collections.abc import Mapping

#: group → (default per visitor, or None: per address only; default per address)
GROUPS: dict[str, tuple[str | None, str]] = {
    "SLOTS": ("60/minute", "600/minute"),
    "BOOKING": ("5/minute;20/hour", "60/minute;300/hour"),
    "MOVING": ("5/minute;20/hour", "60/minute;300/hour"),
    "CHECKIN": ("10/minute", "120/minute"),
    "TICKETS": ("5/minute;20/hour", "60/minute;300/hour"),
    "KIOSK": (None, "60/minute"),  # the kiosk pages: one device for everybody
}


def config_defaults(env: Mapping[str, str]) -> dict:
    """The settings read from the environment (booking.config)."""
    settings = {}
    for group, (per_visitor, per_address) in GROUPS.items():
        if per_visitor is not None:
            settings[f"RATELIMIT_{group}"] = env.get(f"RATELIMIT_{group}") or per_visitor
        settings[f"RATELIMIT_{group}_PER_ADDRESS"] = (
            env.get(f"RATELIMIT_{group}_PER_ADDRESS") or per_address)
    storage = env.get("RATELIMIT_STORAGE_URI") or "memory://"
    settings.update(
        RATELIMIT_STORAGE_URI=storage,
        RATELIMIT_KEY_PREFIX=env.get("RATELIMIT_KEY_PREFIX") or "booking",
        RATELIMIT_EXEMPT_NETWORKS=env.get("RATELIMIT_EXEMPT_NETWORKS") or "",
        # Redis unreachable: requests go through unlimited, each failure logged, rather
        # than failing (fail open; nginx's limit_req still holds per address). A quarter
        # of a second at most is lost waiting for a Redis that does not answer.
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_STORAGE_OPTIONS=(
            {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}
            if storage.startswith(("redis://", "rediss://", "unix://")) else {}),
    )
    return settings
