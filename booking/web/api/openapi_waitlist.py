"""The waitlist's part of the OpenAPI document."""

from __future__ import annotations

from booking.scheduling import visits
from booking.web.api.openapi_queue import DATE, ERROR, _body, _json, _ref

TIME = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
        "examples": ["08:30"]}

PATHS = {
    "/waitlist": {"post": {
        "summary": "Register a waitlist wish",
        "description": "When a matching seat becomes free, it is offered to the "
        "longest-waiting matching wish by email and kept for it for the office's hold time "
        "(booked with one click on the offer's page). A wish for several `persons` is "
        "offered only a start where all of them fit, as one appointment. The confirmation "
        "email carries the link to withdraw the wish.",
        "requestBody": _body(_ref("WishRequest")),
        "responses": {
            "201": _json(_ref("Wish"), "Registered; the confirmation email is queued"),
            "400": _json(ERROR, "The body is not a JSON object"),
            "422": _json(_ref("ValidationError"), "Invalid fields: unknown service or "
                         "office, an office that does not offer the service, no weekday, "
                         "a time window that ends before it starts, a date past the "
                         "booking horizon, more persons than an office chosen allows in "
                         "one appointment"),
        },
    }},
}

SCHEMAS = {
    "WishRequest": {
        "type": "object", "required": ["service", "offices", "until", "name", "email"],
        "properties": {
            "service": {"type": "string"},
            "persons": {"type": "integer", "minimum": 1,
                        "maximum": visits.MAX_PERSONS_PER_LINE, "default": 1,
                        "description": "Persons who need the service, in one appointment; "
                                       "at most what every office chosen allows"},
            "offices": {"type": "array", "minItems": 1, "items": {"type": "string"},
                        "description": "Offices the citizen can go to"},
            "weekdays": {"type": "array", "minItems": 1,
                         "items": {"type": "integer", "minimum": 1, "maximum": 7},
                         "description": "ISO weekdays (1 = Monday); default Monday to Friday"},
            "from": {**TIME, "description": "Earliest start, local time (default 00:00)"},
            "to": {**TIME, "description": "Starts before this local time (default end of day)"},
            "until": {**DATE, "description": "Last acceptable day, at most the end of the "
                      "booking horizon"},
            "name": {"type": "string", "minLength": 1, "maxLength": 200,
                     "pattern": "[^ \\t\\n]"},
            "email": {"type": "string", "format": "email"},
            "language": {"type": "string", "enum": ["de", "en"]},
        },
    },
    "Wish": {
        "type": "object",
        "required": ["id", "service", "persons", "offices", "weekdays", "from", "to", "until",
                     "status"],
        "properties": {
            "id": {"type": "integer"}, "service": {"type": "string"},
            "persons": {"type": "integer", "minimum": 1},
            "offices": {"type": "array", "items": {"type": "string"}},
            "weekdays": {"type": "array", "items": {"type": "integer"}},
            "from": {"type": "string"}, "to": {"type": "string"},
            "until": {"type": "string", "format": "date"},
            "status": {"type": "string", "enum": ["active", "withdrawn", "taken", "ended"]},
        },
    },
}
