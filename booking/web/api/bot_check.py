"""The API's proof of work: the challenge endpoint, and the check that booking and
moving ask for: a solved challenge (``X-Altcha`` header or ``altcha`` body field), or the
API key of a trusted portal of the appointment's office (``X-Api-Key``)."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext

from booking.db import utcnow
from booking.fairness import altcha
from booking.offices.models import Office
from booking.web import bot_check
from booking.web.api import bp
from booking.web.portal_keys import sent_key, trusted_portal

HEADER = "X-Altcha"
FIELD = "altcha"


class ProofMissing(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@bp.errorhandler(ProofMissing)
def _refused(exc: ProofMissing):
    return jsonify({"error": exc.message}), 403


@bp.get("/altcha/challenge")
def altcha_challenge():
    """A new challenge for the ALTCHA widget or an API client; never cached."""
    response = jsonify(altcha.new_challenge(bot_check.settings(), utcnow()))
    response.headers["Cache-Control"] = "no-store"
    return response


def _message(exc: altcha.ChallengeRefused) -> str:
    if exc.reason == altcha.MISSING:
        return gettext(
            "This request needs a solved proof of work: get a challenge from "
            "/api/v1/altcha/challenge and send the solution in the X-Altcha header or the "
            "'altcha' field. Trusted portals send their API key in X-Api-Key instead.")
    if exc.reason == altcha.EXPIRED:
        return gettext("The proof of work has expired. Please solve a new challenge.")
    if exc.reason == altcha.USED:
        return gettext("This proof of work was used already. Please solve a new challenge.")
    return gettext("The proof of work is not valid.")


def require_proof(office: Office, data: dict | None, bound_to: str | None = None) -> None:
    """Let the request go on, or raise ProofMissing (403). With the measure off every
    request goes on. A sent API key decides alone: valid for ``office``, or refused."""
    if not bot_check.is_required():
        return
    if sent_key() is not None:
        portal = trusted_portal()
        if portal is None:
            raise ProofMissing(gettext("Unknown or revoked API key."))
        if portal.office_id != office.id:
            raise ProofMissing(gettext("This API key belongs to another office."))
        return
    payload = request.headers.get(HEADER)
    if not payload and data is not None:
        payload = data.get(FIELD)
    if payload is not None and not isinstance(payload, str):
        payload = "-"  # a number, a list …: malformed
    try:
        altcha.verify(payload, bot_check.settings(), utcnow(), bound_to=bound_to)
    except altcha.ChallengeRefused as exc:
        raise ProofMissing(_message(exc)) from None
