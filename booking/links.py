"""Absolute links for emails and API responses, built from ``BOOKING_BASE_URL``
and the app's URL map (works outside a request, e.g. in the outbox)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values) -> str:
    parts = urlsplit(current_app.config["BOOKING_BASE_URL"])
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "http"
    )
    return adapter.build(endpoint, values, force_external=True)


def manage_url(code: str, token: str) -> str:
    return external_url("citizen.manage", code=code, token=token)


def office_url(office, lang: str) -> str:
    """The office's public page (address, opening hours, directions, accessibility), in
    the language ``lang``."""
    return external_url("citizen.office", office_id=office.id, lang=lang)
