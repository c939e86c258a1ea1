"""The OpenAPI 3.1 document served at /api/v1/openapi.json."""

from __future__ import annotations

import copy

from booking.scheduling import idempotency
from booking.web.api import (
    openapi_assistant,
    openapi_next_free,
    openapi_queue,
    openapi_status,
    openapi_visits,
    openapi_waitlist,
)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = _ref("Error")
MALFORMED = _json(ERROR, "Malformed request: text with a NUL character (no database stores "
                  "it), JSON that is not an object or nested too deeply, a malformed date")
CODE_PARAM = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
BEARER = [{"manageToken": []}]
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH,
               "pattern": idempotency.KEY_PATTERN},
    "description": "A random value (a UUID, say) chosen by the client for this booking. "
    "The same key with the same body within a day gets the first booking again; with a "
    "different body it is refused (422).",
}
#: the rate-limited operations (booking.web.limits): they may answer 429
RATE_LIMITED = {
    ("/offices/{office}/services/{service}/slots", "get"), ("/appointments", "post"),
    ("/appointments/{code}/reschedule", "post"), ("/offices/{office}/tickets", "post"),
    ("/offices/{office}/checkins", "post"), ("/waitlist", "post"), ("/assistant", "get"),
    (openapi_next_free.PATH, "get"), (openapi_visits.PATH, "get"),
}
TOO_MANY = {
    **_json(ERROR, "Too many requests from this client address or visitor (rate limits, "
            "when on): wait the seconds in Retry-After"),
    "headers": {"Retry-After": {"description": "Seconds until a request is accepted again",
                                "schema": {"type": "integer", "minimum": 1}}},
}


ALTCHA_HEADER = {
    "name": "X-Altcha", "in": "header", "required": False, "schema": {"type": "string"},
    "description": "A solved proof of work (ALTCHA): the base64 payload of a challenge from "
    "`/altcha/challenge` and its solution, accepted once. Or send it as the body field "
    "`altcha`. Needed unless the anti-abuse measures are off or `X-Api-Key` is sent.",
}
API_KEY_HEADER = {
    "name": "X-Api-Key", "in": "header", "required": False, "schema": {"type": "string"},
    "description": "The API key an office issued to a trusted portal (back office: API "
    "keys): appointments of that office then need no proof of work. Unknown, revoked or "
    "another office's key: 403.",
}
PROOF_REFUSED = _json(ERROR, "No proof of work (ALTCHA), or one that is invalid, expired "
                      "or used already; or an unknown, revoked or other office's API key")


def openapi_document() -> dict:
    document = copy.deepcopy(_document())  # the parts are shared module constants
    for path, operations in document["paths"].items():
        for method, operation in operations.items():  # any request can carry a NUL: 400
            operation["responses"].setdefault("400", MALFORMED)
            if (path, method) in RATE_LIMITED:
                operation["responses"]["429"] = copy.deepcopy(TOO_MANY)
    return document


def _document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Bürgerbüro appointment booking API",
            "version": "1.0.0",
            "description": "Services, offices, free slots, citizen appointments, the waitlist, "
            "the walk-in queue and the offices' live status. Times are "
            "ISO 8601 with the office's local UTC offset.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/services": {"get": {
                "summary": "All services",
                "responses": {"200": _json({"type": "array", "items": _ref("Service")}, "OK")},
            }},
            "/offices": {"get": {
                "summary": "All offices",
                "responses": {"200": _json({"type": "array", "items": _ref("Office")}, "OK")},
            }},
            "/offices/{office}/services/{service}/slots": {"get": {
                "summary": "Free starts in an inclusive range of local dates (none if 'from' "
                           "is after 'to')",
                "parameters": [
                    {"name": "office", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "service", "in": "path", "required": True,
                     "schema": {"type": "string"}},
                    *openapi_visits.LISTING_PARAMETERS,
                ],
                "responses": {
                    **openapi_visits.LISTING_RESPONSES,
                    "400": _json(ERROR, "Malformed date"),
                    "404": _json(ERROR, "Unknown office or service, or not offered there"),
                },
            }},
            "/appointments": {"post": {
                "summary": "Book an appointment",
                "description": "Send an `Idempotency-Key` to retry safely: a repeat with the "
                "same key and the same body (after a broken connection, say) books nothing "
                "and answers with the first booking, again 201 with its code and manage "
                "token; no second email is sent.",
                "parameters": [IDEMPOTENCY_KEY, ALTCHA_HEADER, API_KEY_HEADER],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref("BookingRequest")}}},
                "responses": {
                    "201": _json(_ref("NewAppointment"), "Booked (or booked before under the "
                                 "same Idempotency-Key); the confirmation email is queued. "
                                 "Where the office asks for a double opt-in, the status is "
                                 "`held` until `held_until`: the email links to a page where "
                                 "the citizen confirms it; unconfirmed, its time is free "
                                 "again from `held_until` on"),
                    "400": _json(ERROR, "The body is not a JSON object, or a malformed "
                                 "Idempotency-Key"),
                    "403": PROOF_REFUSED,
                    "409": _json(ERROR, "That start is not (or no longer) bookable"),
                    "422": _json(_ref("ValidationError"), "Invalid fields, the "
                                 "Idempotency-Key was used with a different body, the "
                                 "person (email address) has as many active appointments "
                                 "for the service as the office allows (`errors.email`), "
                                 "or the office does not allow the visit: too many persons "
                                 "or services, a service twice, or one that can only be "
                                 "booked on its own (`errors.services`)"),
                },
            }},
            "/appointments/{code}": {
                "get": {
                    "summary": "An appointment (manage token as bearer token)",
                    "security": BEARER, "parameters": [CODE_PARAM],
                    "responses": {"200": _json(_ref("Appointment"), "OK"),
                                  "404": _json(ERROR, "Unknown code or wrong token")},
                },
                "delete": {
                    "summary": "Cancel (idempotent: a repeat sends no second email)",
                    "description": "Where the office delays releases, the time is offered "
                    "to others again only at its release time.",
                    "security": BEARER, "parameters": [CODE_PARAM],
                    "responses": {"200": _json(_ref("Appointment"), "Cancelled"),
                                  "404": _json(ERROR, "Unknown code or wrong token"),
                                  "409": _json(ERROR, "The cancellation deadline is over")},
                },
            },
            "/appointments/{code}/reschedule": {"post": {
                "summary": "Move to another free start of the same service and office",
                "security": BEARER, "parameters": [CODE_PARAM, ALTCHA_HEADER, API_KEY_HEADER],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["start"],
                    "properties": {"start": {"type": "string", "format": "date-time"},
                                   "altcha": {"type": "string"}}}}}},
                "responses": {
                    "200": _json(_ref("NewAppointment"), "Moved (same code, same UID)"),
                    "400": _json(ERROR, "The body is not a JSON object"),
                    "403": PROOF_REFUSED,
                    "404": _json(ERROR, "Unknown code or wrong token"),
                    "409": _json(ERROR, "Not bookable, cancelled, past the deadline, or held "
                                 "and not yet confirmed"),
                    "422": _json(_ref("ValidationError"), "Invalid start"),
                },
            }},
            "/altcha/challenge": {"get": {
                "summary": "A new proof-of-work challenge (ALTCHA) for booking or moving",
                "description": "Find the counter whose PBKDF2 key starts with `keyPrefix` "
                "(the ALTCHA libraries and widget do it), then send the base64 JSON "
                "`{challenge, solution: {counter, derivedKey}}` as `X-Altcha` or `altcha`. "
                "Each solution is accepted once, until `expiresAt`.",
                "responses": {"200": _json(_ref("AltchaChallenge"),
                                           "A signed challenge; never cached")},
            }},
            **openapi_queue.PATHS,
            **openapi_waitlist.PATHS,
            **openapi_status.PATHS,
            **openapi_assistant.PATHS,
            **openapi_next_free.PATHS,
            **openapi_visits.PATHS,
        },
        "components": {
            "securitySchemes": {"manageToken": {"type": "http", "scheme": "bearer"},
                                **openapi_queue.SECURITY_SCHEMES},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {
                    "error": {"type": "string"}, "message": {"type": "string"}}},
                "ValidationError": {"type": "object", "required": ["error", "errors"],
                                    "properties": {
                    "error": {"type": "string"},
                    "errors": {"type": "object", "additionalProperties": {"type": "string"}}}},
                "Service": {"type": "object",
                            "required": ["id", "name", "duration_minutes", "offices"],
                            "properties": {
                    "id": {"type": "string"}, "name": {"type": "string"},
                    "description": {"type": "string"}, "bring": {"type": "string"},
                    "fee_cents": {"type": ["integer", "null"]},
                    "duration_minutes": {"type": "integer"},
                    "offices": {"type": "array", "items": {"type": "string"}}}},
                "Office": {"type": "object",
                           "required": ["id", "name", "address", "timezone", "services"],
                           "properties": {
                    "id": {"type": "string"}, "name": {"type": "string"},
                    "address": {"type": "string"}, "timezone": {"type": "string"},
                    "email": {"type": "string"}, "phone": {"type": ["string", "null"]},
                    "slot_minutes": {"type": "integer"}, "horizon_days": {"type": "integer"},
                    "services": {"type": "array", "items": {"type": "string"}}}},
                "Slot": {"type": "object", "required": ["start", "end", "available"],
                         "properties": {
                    "start": {"type": "string", "format": "date-time"},
                    "end": {"type": "string", "format": "date-time"},
                    "available": {"type": "integer", "minimum": 1}}},
                "BookingRequest": {"type": "object",
                                   "required": ["office", "start", "name", "email"],
                                   "oneOf": openapi_visits.BOOKING_ONE_OF,
                                   "properties": {
                    "office": {"type": "string"}, **openapi_visits.BOOKING_SERVICES,
                    "start": {"type": "string", "format": "date-time"},
                    "name": {"type": "string", "minLength": 1, "maxLength": 200,
                             "pattern": "[^ \\t\\n]"},
                    "email": {"type": "string", "format": "email"},
                    "phone": {"type": ["string", "null"]},
                    "language": {"type": "string", "enum": ["de", "en"]},
                    "altcha": {"type": "string", "description": "A solved proof of work, "
                               "as in the X-Altcha header"}}},
                "AltchaChallenge": {"type": "object", "required": ["parameters", "signature"],
                                    "properties": {
                    "parameters": {"type": "object", "required": [
                        "algorithm", "nonce", "salt", "cost", "keyLength", "keyPrefix",
                        "expiresAt"], "properties": {
                        "algorithm": {"type": "string"}, "nonce": {"type": "string"},
                        "salt": {"type": "string"}, "cost": {"type": "integer"},
                        "keyLength": {"type": "integer"}, "keyPrefix": {"type": "string"},
                        "keySignature": {"type": "string"},
                        "expiresAt": {"type": "integer"}}},
                    "signature": {"type": "string"}}},
                "Appointment": {"type": "object",
                                "required": ["code", "office", "service", "services",
                                             "persons", "start", "end", "status"],
                                "properties": {
                    "code": {"type": "string"}, "office": {"type": "string"},
                    **openapi_visits.APPOINTMENT_SERVICES,
                    "start": {"type": "string", "format": "date-time"},
                    "end": {"type": "string", "format": "date-time"},
                    "status": {"type": "string",
                               "enum": ["held", "confirmed", "cancelled", "arrived",
                                        "no_show"]},
                    "held_until": {"type": "string", "format": "date-time",
                                   "description": "Only while held: the appointment is "
                                   "booked once confirmed through the link in its email "
                                   "before this instant"},
                    "name": {"type": "string"}, "email": {"type": ["string", "null"]},
                    "phone": {"type": ["string", "null"]}, "language": {"type": "string"},
                    "uid": {"type": "string"}, "sequence": {"type": "integer"}}},
                "NewAppointment": {"allOf": [_ref("Appointment"), {
                    "type": "object", "required": ["manage_token", "manage_url"],
                    "properties": {"manage_token": {"type": "string"},
                                   "manage_url": {"type": "string", "format": "uri"}}}]},
                **openapi_queue.SCHEMAS,
                **openapi_waitlist.SCHEMAS,
                **openapi_status.SCHEMAS,
                **openapi_assistant.SCHEMAS,
                **openapi_next_free.SCHEMAS,
            },
        },
    }
