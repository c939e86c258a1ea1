"""The open live feed's part of the OpenAPI document."""

from __future__ import annotations

from booking.web.api.openapi_queue import ERROR, OFFICE, _json, _ref

DATE_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
LANG = {"name": "lang", "in": "query", "required": False,
        "schema": {"type": "string", "examples": ["en"]},
        "description": "Language of the service names: de or en (anything else: "
                       "Accept-Language, else de)"}
IF_NONE_MATCH = {"name": "If-None-Match", "in": "header", "required": False,
                 "schema": {"type": "string"}}
CORS = {"Access-Control-Allow-Origin": {"description": "`*`: any web page may read it",
                                        "schema": {"type": "string", "const": "*"}}}
CACHED = ("Public and the same for everybody, cacheable for a few seconds "
          "(Cache-Control, ETag); no personal data")
NOT_MODIFIED = {"description": "Unchanged since the ETag sent in If-None-Match"}

PATHS = {
    "/offices/{office}/status": {"get": {
        "summary": "An office right now: open or its next opening, people waiting, the "
                   "estimated wait and the first free online appointment per service",
        "parameters": [OFFICE, LANG, IF_NONE_MATCH],
        "responses": {
            "200": {**_json(_ref("OfficeStatus"), CACHED), "headers": CORS},
            "304": NOT_MODIFIED,
            "404": _json(ERROR, "Unknown office"),
        },
    }},
    "/status": {"get": {
        "summary": "Every office right now (as /offices/{office}/status)",
        "parameters": [LANG, IF_NONE_MATCH],
        "responses": {
            "200": {**_json({"type": "object", "required": ["offices"], "properties": {
                "offices": {"type": "array", "items": _ref("OfficeStatus")}}}, CACHED),
                "headers": CORS},
            "304": NOT_MODIFIED,
        },
    }},
}

SCHEMAS = {
    "OfficeStatus": {"type": "object", "additionalProperties": False,
                     "required": ["office", "name", "address", "open", "open_until",
                                  "next_opening", "services"],
                     "properties": {
        "office": {"type": "string"}, "name": {"type": "string"},
        "address": {"type": "string"},
        "open": {"type": "boolean", "description": "Tickets can be drawn now"},
        "open_until": {**DATE_TIME_OR_NULL,
                       "description": "While open: when the current opening period ends"},
        "next_opening": {**DATE_TIME_OR_NULL,
                         "description": "While closed: the next opening within a month "
                                        "(closures and public holidays included); null if "
                                        "none"},
        "services": {"type": "array", "items": _ref("ServiceStatus")}}},
    "ServiceStatus": {"type": "object", "additionalProperties": False,
                      "required": ["id", "name", "open", "waiting", "ahead",
                                   "estimated_wait_minutes", "next_free_appointment"],
                      "properties": {
        "id": {"type": "string"}, "name": {"type": "string"},
        "open": {"type": "boolean", "description": "A ticket for it can be drawn now"},
        "waiting": {"type": "integer", "minimum": 0,
                    "description": "Tickets of this service waiting now"},
        "ahead": {"type": "integer", "minimum": 0,
                  "description": "People a ticket drawn now would have ahead (all waiting "
                                 "for the counters that serve this service)"},
        "estimated_wait_minutes": {"type": ["integer", "null"], "minimum": 0,
                                   "description": "For a ticket drawn now; null while "
                                   "closed or when no open counter serves the service"},
        "next_free_appointment": {**DATE_TIME_OR_NULL,
                                  "description": "The first free start bookable online; "
                                  "null if none within the booking horizon"}}},
}
