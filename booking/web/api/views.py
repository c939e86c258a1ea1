"""JSON API views. Thin: parse, check, call one operation, serialise."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import abort, current_app, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import get_locale, gettext
from sqlalchemy import true

from booking.db import commit_each_statement, db, utcnow
from booking.links import manage_url
from booking.offices.models import Office, Service
from booking.scheduling import operations, queries
from booking.scheduling.errors import (
    AppointmentCancelled,
    DeadlinePassed,
    NotBookable,
    ServiceNotOffered,
    SlotTaken,
)
from booking.web import validation
from booking.web.api import bp
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
}


@bp.errorhandler(NotBookable)
@bp.errorhandler(SlotTaken)
@bp.errorhandler(DeadlinePassed)
@bp.errorhandler(AppointmentCancelled)
def _conflict(exc):
    return jsonify({"error": CONFLICTS[type(exc)]()}), 409


def _lang() -> str:
    return str(get_locale() or "de")


def _has_surrogates(value) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_has_surrogates(k) or _has_surrogates(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogates(v) for v in value)
    return False


def _json_object() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, gettext("The request body must be a JSON object."))
    if _has_surrogates(data):  # "\ud800" escapes are valid JSON but not text
        raise ApiError(400, gettext("The request body contains invalid characters."))
    return data


def _office(office_id: str) -> Office:
    return db.session.get(Office, office_id) or abort(404, gettext("Unknown office."))


def _service(service_id: str) -> Service:
    return db.session.get(Service, service_id) or abort(404, gettext("Unknown service."))


def _iso(value, office: Office) -> str:
    return value.astimezone(office.tz).isoformat()


def _appointment_json(appointment, token: str | None = None, tz: ZoneInfo | None = None
                      ) -> dict:
    """``appointment``: an Appointment, or an operations.Booked with the office's ``tz``."""
    tz = tz or appointment.office.tz
    body = {
        "code": appointment.code,
        "office": appointment.office_id,
        "service": appointment.service_id,
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
    if token:
        body["manage_token"] = token
        body["manage_url"] = manage_url(appointment.code, token)
    return body


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.get("/services")
def services():
    lang = _lang()
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


# Slot listings keyed by the database snapshot they were computed in (PostgreSQL): a
# hit needs one tiny query and proves that no transaction has committed since, so it is
# exactly what computing afresh would give. See queries.database_snapshot.
_slot_lists = queries.SnapshotCache(maxsize=64)


@dataclass(frozen=True)
class _SlotList:
    today: date  # the office's local date when computed
    earliest: datetime  # the earliest bookable instant when computed
    lead: timedelta
    tz: ZoneInfo
    starts: list[datetime]  # UTC, ascending
    items: list[str]  # each start's JSON object


@lru_cache(maxsize=16384)
def _local_iso(instant: datetime, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).isoformat()


def _slot_items(free, tz: ZoneInfo) -> list[str]:
    # what jsonify writes for {"start": …, "end": …, "available": …} (sorted keys, compact)
    return [
        f'{{"available":{s.available},"end":"{_local_iso(s.end_at, tz)}",'
        f'"start":"{_local_iso(s.start_at, tz)}"}}'
        for s in free
    ]


def _compact_json() -> bool:
    """Whether jsonify writes compact JSON with sorted keys (the production default)."""
    provider = current_app.json
    return (
        isinstance(provider, DefaultJSONProvider)
        and provider.sort_keys
        and provider.ensure_ascii
        and not (provider.compact is False or (provider.compact is None and current_app.debug))
    )


def _slot_response(items: list[str]):
    return current_app.response_class("[" + ",".join(items) + "]\n",
                                      mimetype=current_app.json.mimetype)


def _cached_slots(key):
    """The cached response for ``key`` if it is still exact for the current time."""
    cached = _slot_lists.get(key)
    if cached is None:
        return None
    now = utcnow()
    earliest = now + cached.lead
    if now.astimezone(cached.tz).date() != cached.today or earliest < cached.earliest:
        return None
    return _slot_response(cached.items[bisect_left(cached.starts, earliest):])


@bp.get("/offices/<office_id>/services/<service_id>/slots")
def slots(office_id: str, service_id: str):
    compact = _compact_json()
    snapshot = queries.database_snapshot() if compact else None
    if snapshot is None:
        return _list_slots(office_id, service_id, compact, None, None)
    key = (db.engine.url, office_id, service_id, request.args.get("from"),
           request.args.get("to"), snapshot)
    response = _cached_slots(key)
    if response is not None:
        return response
    # Threads of this process asking for the same list in the same snapshot wait for
    # the first one instead of all computing it.
    with _slot_lists.single_flight(key) as first:
        if not first and (response := _cached_slots(key)) is not None:
            return response
        return _list_slots(office_id, service_id, compact, key, snapshot)


def _days_asked() -> tuple[date | None, date | None]:
    try:
        first = validation.parse_day(request.args.get("from"), "from")
        last = validation.parse_day(request.args.get("to"), "to")
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    if first and last and first > last:
        raise ApiError(400, gettext("'from' must not be after 'to'."))
    return first, last


def _list_slots(office_id: str, service_id: str, compact: bool, key, snapshot: str | None):
    now = utcnow()
    listed = None
    if snapshot and queries.kept(office_id, service_id) is not None:
        # against the kept configuration (PostgreSQL): office and service are known, so
        # the dates are checked first here, as they are below after the lookups
        listed = operations.list_free_slots_as_kept(office_id, service_id, now,
                                                    *_days_asked())
    if listed is not None:
        free, policy = listed
    else:
        office, service = _office(office_id), _service(service_id)
        first, last = _days_asked()
        try:
            free = operations.list_free_slots(office, service, now, first, last)
        except ServiceNotOffered:
            abort(404, gettext("This office does not offer this service."))
        if not compact:
            return jsonify([
                {"start": _iso(s.start_at, office), "end": _iso(s.end_at, office),
                 "available": s.available}
                for s in free
            ])
        policy = queries.get_policy(office)
        if snapshot:
            queries.load_and_keep(office.id, service.id, now)  # for the next listings
    items = _slot_items(free, policy.tz)
    if snapshot and queries.database_snapshot(in_session=True) == snapshot:
        # every read above saw the same committed data: keep the result for this snapshot
        _slot_lists.put(key, _SlotList(
            today=now.astimezone(policy.tz).date(), earliest=now + policy.lead,
            lead=policy.lead, tz=policy.tz, starts=[s.start_at for s in free], items=items))
    return _slot_response(items)


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


def _office_and_service(office_id, service_id, start_at
                        ) -> tuple[Office | None, Service | None, queries.BookingInputs | None]:
    """Both in one query when both exist (the usual case), on PostgreSQL with what the
    booking reads besides (see queries.load_and_keep); one each otherwise."""
    office_id = office_id if isinstance(office_id, str) else None
    service_id = service_id if isinstance(service_id, str) else None
    if office_id is not None and service_id is not None:
        loaded = (queries.load_and_keep(office_id, service_id, utcnow())
                  if start_at is not None else None)
        if loaded is not None:
            return loaded
        row = db.session.execute(
            db.select(Office, Service).join(Service, true())  # two primary-key lookups
            .where(Office.id == office_id, Service.id == service_id)
        ).first()
        if row is not None:
            return row.Office, row.Service, None
    return (office_id and db.session.get(Office, office_id),
            service_id and db.session.get(Service, service_id), None)


def _citizen(values: dict) -> operations.Citizen:
    return operations.Citizen(values["name"], values["email"], values["phone"],
                              values["language"])


@bp.post("/appointments")
def book():
    data = _json_object()
    values, errors = _citizen_fields(data)
    office_id, service_id = data.get("office"), data.get("service")
    if not errors and isinstance(office_id, str) and isinstance(service_id, str):
        booked = operations.book_as_kept(office_id, service_id, values["start"],
                                         _citizen(values), utcnow())
        if booked is not None:
            appointment, token = booked
            return jsonify(_appointment_json(appointment, token, appointment.tz)), 201
    # Its one write is one statement (PostgreSQL): no BEGIN, COMMIT or ROLLBACK around it.
    commit_each_statement()
    office, service, inputs = _office_and_service(data.get("office"), data.get("service"),
                                                  values.get("start"))
    not_offered = lambda: gettext("This office does not offer this service.")  # noqa: E731
    if not office:
        errors["office"] = gettext("Unknown office.")
    if not service:
        errors["service"] = gettext("Unknown service.")
    elif office and errors and not (inputs.offered if inputs is not None
                                    else queries.is_offered(office.id, service.id)):
        errors["service"] = not_offered()  # (without other errors book_appointment checks)
    if errors:
        raise ApiError(422, gettext("Please correct the marked fields."), errors)
    try:
        appointment, token = operations.book_appointment(
            office, service, values["start"], _citizen(values), utcnow(), inputs=inputs
        )
    except ServiceNotOffered:
        raise ApiError(422, gettext("Please correct the marked fields."),
                       {"service": not_offered()}) from None
    return jsonify(_appointment_json(appointment, token)), 201


def _authorised(code: str):
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    appointment = operations.get_appointment_for_citizen(code, token)
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
    operations.cancel_appointment(appointment, utcnow())
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
    operations.reschedule_appointment(appointment, start_at, utcnow(), token)
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
    rows = operations.get_day_appointments(office, day)
    return jsonify([
        {**_appointment_json(a), "channel": a.channel, "service_name": a.service.name_de}
        for a in rows
    ])
