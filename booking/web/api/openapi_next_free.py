"""The next free appointment in any office: its part of the OpenAPI document."""

from __future__ import annotations

from booking.scheduling import visits
from booking.web.api.openapi_queue import ERROR, _json, _ref
from booking.web.visit_input import TEXT_PATTERN

PATH = "/services/{service}/next-free"

PATHS = {
    PATH: {"get": {
        "summary": "The first free starts of a service (or of a visit: several persons, "
                   "further services) in every office that offers it, on the weekdays "
                   "and at the times of day asked for",
        "description": "Per office the first `limit` starts bookable online that match "
                       "the filter (the same as the first matching ones of the office's "
                       "slot listing); offices by their first start, those without a "
                       "matching start within their booking horizon last, with `starts` "
                       "empty. Offices that do not offer the service, or one of `also`, "
                       "or do not allow the visit in one appointment (too many persons "
                       "or services, a service only on its own), are left out. A visit's "
                       "start leaves room for all of it, as in the visit's slot listing "
                       "(`/offices/{office}/slots`). Times "
                       "of day by the local start: `morning` before 12:00, `afternoon` "
                       "12:00 to 16:00, `evening` from 16:00.",
        "parameters": [
            {"name": "service", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "weekdays", "in": "query", "required": False,
             "schema": {"type": "string", "pattern": "^([1-7](,[1-7])*)?$",
                        "examples": ["6", "1,2,3"]},
             "description": "ISO weekdays, comma-separated: 1 = Monday … 6 = Saturday, "
                            "7 = Sunday; empty or left out: any"},
            {"name": "times", "in": "query", "required": False,
             "schema": {"type": "string",
                        "pattern": "^((morning|afternoon|evening)(,(morning|afternoon|evening))*)?$",
                        "examples": ["morning", "afternoon,evening"]},
             "description": "Times of day, comma-separated; empty or left out: any"},
            {"name": "persons", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1,
                        "maximum": visits.MAX_PERSONS_PER_LINE, "default": 1},
             "description": "Persons who need the service"},
            {"name": "also", "in": "query", "required": False,
             "schema": {"type": "string", "pattern": f"^({TEXT_PATTERN})?$",
                        "examples": ["melde:1", "personalausweis:2,melde"]},
             "description": "Further services in the same appointment, comma-separated, "
                            "each with `:persons` (1 if left out); empty or left out: none"},
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
             "description": "Starts per office"},
            {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}},
        ],
        "responses": {
            "200": _json(_ref("NextFree"), "Public, cacheable for a second "
                         "(Cache-Control, ETag)"),
            "304": {"description": "Unchanged since the ETag sent in If-None-Match"},
            "400": _json(ERROR, "Unknown weekday or time of day, a limit or persons out "
                         "of range, or a malformed `also`"),
            "404": _json(ERROR, "Unknown service (in the path or in `also`)"),
            "422": _json(_ref("ValidationError"), "`also` names the service twice, too "
                         "many services or too many persons for one service "
                         "(`errors.also`)"),
        },
    }},
}

SCHEMAS = {
    "NextFree": {"type": "object", "additionalProperties": False,
                 "required": ["service", "services", "weekdays", "times", "offices"],
                 "properties": {
        "service": {"type": "string"},
        "services": {"type": "array", "items": {
            "type": "object", "required": ["service", "persons"], "additionalProperties": False,
            "properties": {"service": {"type": "string"},
                           "persons": {"type": "integer", "minimum": 1}}},
                     "description": "The visit asked for: the service, then `also`"},
        "weekdays": {"type": "array", "items": {"type": "integer", "minimum": 1,
                                                "maximum": 7},
                     "description": "The weekdays asked for; empty: any"},
        "times": {"type": "array", "items": {"type": "string",
                                             "enum": ["afternoon", "evening", "morning"]},
                  "description": "The times of day asked for; empty: any"},
        "offices": {"type": "array", "items": _ref("OfficeNextFree")}}},
    "OfficeNextFree": {"type": "object", "additionalProperties": False,
                       "required": ["office", "name", "district", "address", "starts"],
                       "properties": {
        "office": {"type": "string"}, "name": {"type": "string"},
        "district": {"type": ["string", "null"],
                     "description": "Where in town, in words (e.g. the district)"},
        "address": {"type": "string"},
        "starts": {"type": "array", "items": _ref("Slot"),
                   "description": "The first matching free starts, earliest first; empty "
                                  "if none within the booking horizon"}}},
}
