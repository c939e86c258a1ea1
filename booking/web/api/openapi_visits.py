"""One appointment for several services and persons (a family): its part of the OpenAPI
document: the slot listing for a visit, and the schemas the booking uses."""

from __future__ import annotations

from booking.scheduling import visits
from booking.web.api.openapi_queue import DATE, ERROR, _json, _ref
from booking.web.visit_input import MAX_LINES, TEXT_PATTERN

PATH = "/offices/{office}/slots"

#: what both slot listings (one service's, a visit's) share
LISTING_PARAMETERS = [
    {"name": "from", "in": "query", "schema": DATE, "description": "default: today"},
    {"name": "to", "in": "query", "schema": DATE,
     "description": "default: the end of the booking horizon"},
    {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}},
]
LISTING_RESPONSES = {
    "200": _json({"type": "array", "items": _ref("Slot")},
                 "Sorted free starts; public, cacheable for a second (Cache-Control, ETag)"),
    "304": {"description": "Unchanged since the ETag sent in If-None-Match"},
}

LISTING_DESCRIPTION = (
    "Like the slot listing of one service, for a visit: the starts where the whole visit "
    "fits (the services' durations per person added up) on seats that offer all of its "
    "services. The office limits the persons and services of one appointment, and some "
    "services can only be booked on their own (422).")

PATHS = {
    PATH: {"get": {
        "summary": "Free starts for one appointment of several services and persons",
        "description": LISTING_DESCRIPTION,
        "parameters": [
            {"name": "office", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "services", "in": "query", "required": True,
             "schema": {"type": "string", "pattern": f"^{TEXT_PATTERN}$",
                        "examples": ["reisepass:3,personalausweis:1"]},
             "description": "Service ids, comma-separated, each with `:persons` (1 if left "
                            "out)"},
            *LISTING_PARAMETERS,
        ],
        "responses": {
            **LISTING_RESPONSES,
            "400": _json(ERROR, "Malformed `services` or date"),
            "404": _json(ERROR, "Unknown office or service, or a service not offered there"),
            "422": _json(_ref("ValidationError"), "The office does not allow this visit "
                         "(`errors.services`): too many persons or services, a service "
                         "twice, or one that can only be booked on its own"),
        },
    }},
}

VISIT_LINE = {
    "type": "object", "required": ["service"],
    "properties": {
        "service": {"type": "string"},
        "persons": {"type": "integer", "minimum": 1,
                    "maximum": visits.MAX_PERSONS_PER_LINE, "default": 1}}}

#: the booking request names its services one of two ways
BOOKING_SERVICES = {
    "service": {"type": "string", "description": "One service for one person"},
    "services": {"type": "array", "minItems": 1, "maxItems": MAX_LINES, "items": VISIT_LINE,
                 "description": "Several services, each for a number of persons (a family "
                 "of four: `[{\"service\": \"reisepass\", \"persons\": 3}, {\"service\": "
                 "\"personalausweis\", \"persons\": 1}]`); within the office's limits "
                 "(else 422, `errors.services`)"},
}
BOOKING_ONE_OF = [{"required": ["service"], "not": {"required": ["services"]}},
                  {"required": ["services"], "not": {"required": ["service"]}}]

#: what an appointment shows of its services
APPOINTMENT_SERVICES = {
    "service": {"type": "string", "description": "The first of `services`"},
    "services": {"type": "array", "items": {
        "type": "object", "required": ["service", "persons", "name"],
        "properties": {"service": {"type": "string"},
                       "persons": {"type": "integer", "minimum": 1},
                       "name": {"type": "string"}}}},
    "persons": {"type": "integer", "minimum": 1, "description": "All persons of the "
                "appointment"},
}
