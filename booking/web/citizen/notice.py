"""The values of the privacy notice (/privacy), prepared from the settings: the page
names who is responsible and how long each kind of data is kept, as configured."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from booking.accounts.operations import WINDOW
from booking.fairness import measure_on


@dataclass(frozen=True)
class PrivacyNotice:
    controller: str
    controller_address: str
    dpo: str
    email: str
    authority: str | None
    retention_days: int
    log_days: int
    session_idle_minutes: int
    login_window_minutes: int
    rate_limits: bool
    proof_of_work: bool
    double_opt_in: bool


def privacy_notice(config: Mapping) -> PrivacyNotice:
    return PrivacyNotice(
        controller=config["PRIVACY_CONTROLLER"],
        controller_address=config["PRIVACY_CONTROLLER_ADDRESS"],
        dpo=config["PRIVACY_DPO"],
        email=config["PRIVACY_EMAIL"],
        authority=config.get("PRIVACY_AUTHORITY") or None,
        retention_days=int(config["RETENTION_DAYS"]),
        log_days=int(config["PRIVACY_LOG_DAYS"]),
        session_idle_minutes=round(config["STAFF_SESSION_IDLE_MINUTES"]),
        login_window_minutes=round(WINDOW.total_seconds() / 60),
        rate_limits=measure_on(config, "RATELIMIT"),
        proof_of_work=measure_on(config, "ALTCHA"),
        double_opt_in=measure_on(config, "DOUBLE_OPT_IN"),
    )
