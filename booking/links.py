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


ALSO = "also-"  # a further service's field on a slot page: also-<service id>=<persons>


def visit_fields(lines) -> dict[str, int]:
    """The fields a slot page's link carries for a visit (booking.web.visit_form): the
    first service's ``persons`` if more than one, ``also-<id>`` for each further one."""
    fields = {"persons": lines[0].persons} if lines[0].persons > 1 else {}
    fields.update({ALSO + line.service.id: line.persons for line in lines[1:]})
    return fields


def manage_url(code: str, token: str) -> str:
    return external_url("citizen.manage", code=code, token=token)


def office_url(office, lang: str) -> str:
    """The office's public page (address, opening hours, directions, accessibility), in
    the language ``lang``."""
    return external_url("citizen.office", office_id=office.id, lang=lang)
