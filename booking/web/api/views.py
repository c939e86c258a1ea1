"""JSON API views. Thin: parse, check, call one operation, serialise."""

from __future__ import annotations

from datetime import date

from flask import abort, g, jsonify, request
from flask_babel import gettext
from sqlalchemy import bindparam, select, true

from booking.db import db, utcnow
from booking.i18n import current_language
from booking.links import manage_url
from booking.offices.models import Office, Service
from booking.scheduling import holds, idempotency, operations, queries, visit_texts, visits
from booking.scheduling.errors import (
    AppointmentCancelled,
    DeadlinePassed,
    KeyReused,
    NotBookable,
    ServiceNotOffered,
    SlotTaken,
    VisitNotAllowed,
)
from booking.scheduling.slots import local_isoformat
from booking.web import caching, fairness, validation, visit_input
from booking.web.api import bp
from booking.web.api.bot_check import require_proof
from booking.web.api.openapi import openapi_document
from booking.web.auth import office_for, require_role, staff_user


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    body = {"error": exc.message}
    if exc.errors:
        body["errors"] = exc.errors
    return jsonify(body), exc.status


CONFLICTS = {
    NotBookable: lambda: gettext("This start time is not bookable."),
    SlotTaken: lambda: gettext("This time was just booked by someone else."),
    DeadlinePassed: lambda: gettext("The deadline for changes online is over."),
    AppointmentCancelled: lambda: gettext("The appointment was cancelled."),
    holds.NotConfirmed: lambda: gettext("The appointment is not confirmed yet: confirm it "
                                        "with the link in the email first."),
}


@bp.errorhandler(holds.NotConfirmed)
@bp.errorhandler(NotBookable)
@bp.errorhandler(SlotTaken)
@bp.errorhandler(DeadlinePassed)
@bp.errorhandler(AppointmentCancelled)
def _conflict(exc):
    return jsonify({"error": CONFLICTS[type(exc)]()}), 409



def _json_object() -> dict:
    """The request's JSON object (text no database can store was refused before:
    booking.web.inputs)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, gettext("The request body must be a JSON object."))
    return data


def _lookup(model, key):
    return db.session.get(model, key) if isinstance(key, str) else None


_BOTH = select(Office, Service).join(Service, true()).where(  # (built once)
    Office.id == bindparam("office"), Service.id == bindparam("service"))


def _office_and_service(office_id, service_id) -> tuple[Office | None, Service | None]:
    """Both in one query (two primary-key lookups) when both exist, the usual case."""
    if isinstance(office_id, str) and isinstance(service_id, str):
        row = db.session.execute(_BOTH, {"office": office_id, "service": service_id}).first()
        if row is not None:
            return row.Office, row.Service
    return _lookup(Office, office_id), _lookup(Service, service_id)


def _appointment_json(appointment, token: str | None = None) -> dict:
    tz = appointment.office.tz
    body = {
        "code": appointment.code,
        "office": appointment.office_id,
        "service": appointment.service_id,  # the first of ``services``
        "services": visit_texts.lines_json(appointment.lines, appointment.language),
        "persons": appointment.persons,
        "start": appointment.start_at.astimezone(tz).isoformat(),
        "end": appointment.end_at.astimezone(tz).isoformat(),
        "status": appointment.status,
        "name": appointment.name,
        "email": appointment.email,
        "phone": appointment.phone,
        "language": appointment.language,
        "uid": appointment.ical_uid,
        "sequence": appointment.sequence,
    }
    if appointment.held_until is not None:  # held: booked only once confirmed by email
        body["held_until"] = appointment.held_until.astimezone(tz).isoformat()
    if token:
        body["manage_token"] = token
        body["manage_url"] = manage_url(appointment.code, token)
    return body


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.get("/services")
def services():
    lang = current_language()
    rows = db.session.scalars(db.select(Service).order_by(Service.position, Service.id)).all()
    return jsonify([
        {
            "id": s.id,
            "name": s.text("name", lang),
            "description": s.text("description", lang),
            "bring": s.text("bring", lang),
            "fee_cents": s.fee_cents,
            "duration_minutes": s.duration_minutes,
            "offices": [o.id for o in s.offices],
        }
        for s in rows
    ])


@bp.get("/offices")
def offices():
    rows = db.session.scalars(db.select(Office).order_by(Office.name)).all()
    return jsonify([
        {
            "id": o.id,
            "name": o.name,
            "address": o.address,
            "timezone": o.timezone,
            "email": o.email,
            "phone": o.phone,
            "slot_minutes": o.slot_minutes,
            "horizon_days": o.horizon_days,
            "services": [s.id for s in o.services],
        }
        for o in rows
    ])


@bp.get("/offices/<office_id>/services/<service_id>/slots")
def slots(office_id: str, service_id: str):
    """Public and the same for everybody: nginx may keep it for a second
    (caching.public); the booking itself answers 409 for a start taken meanwhile."""
    office, service = _office_and_service(office_id, service_id)
    if office is None or service is None:
        abort(404, gettext("Unknown office.") if office is None else gettext("Unknown service."))
    return _slots(office, visits.single(service))


@bp.get("/offices/<office_id>/slots")
def visit_slots(office_id: str):
    """The free starts for a visit of several services and persons,
    ``?services=pass:3,ausweis:1``: where its whole duration fits."""
    office = _lookup(Office, office_id)
    if office is None:
        abort(404, gettext("Unknown office."))
    try:
        lines = visit_input.lines_from_text(request.args.get("services") or "")
    except visit_input.UnknownService as exc:
        abort(404, str(exc))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    except VisitNotAllowed as exc:
        raise _not_allowed(exc) from None
    return _slots(office, lines)


def _not_allowed(exc: VisitNotAllowed, field: str = "services") -> ApiError:
    return ApiError(422, gettext("Please correct the marked fields."),
                    {field: visit_input.not_allowed_message(exc)})


def _slots(office: Office, visit):
    first, last = _days_asked()
    try:
        free = operations.list_free_slots(office, visit, utcnow(), first, last)
    except ServiceNotOffered:
        abort(404, gettext("This office does not offer this service."))
    except VisitNotAllowed as exc:
        raise _not_allowed(exc) from None
    starts = local_isoformat([s.start_at for s in free], office.tz)
    ends = local_isoformat([s.end_at for s in free], office.tz)
    return caching.public(jsonify([
        {"start": start, "end": end, "available": s.available}
        for start, end, s in zip(starts, ends, free, strict=True)
    ]))



def _days_asked() -> tuple[date | None, date | None]:
    try:
        first = validation.parse_day(request.args.get("from"), "from")
        last = validation.parse_day(request.args.get("to"), "to")
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return first, last  # 'from' after 'to': an empty range, no slots


def _citizen_fields(data: dict) -> tuple[dict, dict]:
    cleaners = {
        "name": validation.clean_name,
        "email": validation.clean_email,
        "phone": validation.clean_phone,
        "language": validation.clean_language,
        "start": validation.parse_start,
    }
    values, errors = {}, {}
    for field, clean in cleaners.items():
        try:
            values[field] = clean(data.get(field))
        except ValueError as exc:
            errors[field] = str(exc)
    return values, errors


def _citizen(values: dict) -> operations.Citizen:
    return operations.Citizen(values["name"], values["email"], values["phone"],
                              values["language"])


def _idempotency_key() -> str | None:
    """The ``Idempotency-Key`` header, taken as it is (a quoted string stays quoted)."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not idempotency.is_valid_key(key):
        raise ApiError(400, gettext("The Idempotency-Key header must be 1 to 255 printable "
                                    "ASCII characters."))
    return key


@bp.post("/appointments")
def book():
    key = _idempotency_key()
    g.private_page = True  # the answer carries the manage token: no-store
    data = _json_object()
    values, errors = _citizen_fields(data)
    office, service = _office_and_service(data.get("office"), data.get("service"))
    not_offered = lambda: gettext("This office does not offer this service.")  # noqa: E731
    field, lines = "service", None  # the field that names the services
    if not office:
        errors["office"] = gettext("Unknown office.")
    if "services" in data:
        field = "services"
        try:
            if "service" in data:
                raise ValueError(gettext('Please send either "service" or "services", '
                                         'not both.'))
            lines = visit_input.lines_from_json(data["services"])
        except ValueError as exc:
            errors["services"] = str(exc)
    elif not service:
        errors["service"] = gettext("Unknown service.")
    elif office and errors and not queries.is_offered(office.id, service.id):
        errors["service"] = not_offered()  # (without other errors book_appointment checks)
    if errors:
        raise ApiError(422, gettext("Please correct the marked fields."), errors)
    require_proof(office, data, bound_to=key)
    now = utcnow()
    try:
        appointment, token = operations.book_appointment(
            office, lines or visits.single(service), values["start"], _citizen(values), now,
            key=key, **fairness.booking_options(office, now))
    except holds.CapReached as exc:
        message = fairness.cap_message(exc.limit)
        raise ApiError(422, message, {"email": message}) from None
    except ServiceNotOffered:
        raise ApiError(422, gettext("Please correct the marked fields."),
                       {field: not_offered()}) from None
    except VisitNotAllowed as exc:
        raise _not_allowed(exc, field) from None
    except KeyReused:
        message = gettext("This Idempotency-Key was already used for a different request.")
        raise ApiError(422, message, {"Idempotency-Key": message}) from None
    return jsonify(_appointment_json(appointment, token)), 201


def _authorised(code: str):
    g.private_page = True  # personal data, and a move's answer carries the new token
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    appointment = queries.get_appointment_for_citizen(code, token)
    if appointment is None:
        abort(404, gettext("Unknown booking code or wrong token."))
    return appointment, token


@bp.get("/appointments/<code>")
def appointment(code: str):
    appointment, _ = _authorised(code)
    return jsonify(_appointment_json(appointment))


@bp.delete("/appointments/<code>")
def cancel(code: str):
    appointment, _ = _authorised(code)
    now = utcnow()
    operations.cancel_appointment(appointment, now,
                                  release_at=fairness.release_at(appointment.office, now))
    return jsonify(_appointment_json(appointment))


@bp.post("/appointments/<code>/reschedule")
def reschedule(code: str):
    appointment, token = _authorised(code)
    data = _json_object()
    try:
        start_at = validation.parse_start(data.get("start"))
    except ValueError as exc:
        raise ApiError(422, gettext("Please correct the marked fields."),
                       {"start": str(exc)}) from None
    require_proof(appointment.office, data)
    now = utcnow()
    operations.reschedule_appointment(appointment, start_at, now, token,
                                      release_at=fairness.release_at(appointment.office, now))
    return jsonify(_appointment_json(appointment, token))


@bp.get("/offices/<office_id>/appointments")
@require_role("clerk")
def office_appointments(office_id: str):
    """Staff: the day's appointments of an office, with names and statuses."""
    office = office_for(staff_user(), office_id)
    try:
        day = validation.parse_day(request.args.get("date"), "date")
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    day = day or utcnow().astimezone(office.tz).date()
    rows = queries.get_day_appointments(office, day)
    return jsonify([
        {**_appointment_json(a), "channel": a.channel, "service_name": a.service.name_de,
         "services": visit_texts.lines_json(a.lines, "de")}
        for a in rows
    ])
