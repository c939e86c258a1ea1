"""Fair access to scarce appointments: the measures against bots and resellers.

Every measure has its own setting, ``<MEASURE>_ENABLED``, and one switch turns them all
off at once: ``ANTI_ABUSE=0`` (tests of other features, demos on loopback, load
benchmarks). The default is on, in development too. :func:`apply_switch` runs once in the
app factory, after the configuration and its overrides are read, so
``app.config["ALTCHA_ENABLED"]`` (etc.) is the one thing code asks.

Per-office values (the cap per person, the hold time of the double opt-in, the delay
before a cancelled slot is offered again) live on the office; their measure's setting
turns them off for every office.
"""

from __future__ import annotations

from collections.abc import MutableMapping

#: the settings, each ``<name>_ENABLED``; ``RATELIMIT`` is Flask-Limiter's own key
MEASURES = ("ALTCHA", "RATELIMIT", "EMAIL_CAP", "DOUBLE_OPT_IN", "RELEASE_DELAY")


def apply_switch(config: MutableMapping) -> None:
    """With ``ANTI_ABUSE`` off, every measure is off whatever its own setting says."""
    if not config.get("ANTI_ABUSE", True):
        for name in MEASURES:
            config[f"{name}_ENABLED"] = False


def measure_on(config: MutableMapping, name: str) -> bool:
    return bool(config.get("ANTI_ABUSE", True) and config.get(f"{name}_ENABLED", True))
