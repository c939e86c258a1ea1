"""The walk-in queue's and the staff endpoints' part of the OpenAPI document."""

from __future__ import annotations


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


ERROR = _ref("Error")
# a date like 2026-12-01 in the years the API handles (2000-2199)
DATE = {"type": "string", "format": "date",
        "pattern": "^2[01][0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"}
SERVICE_ID = {"type": "string", "examples": ["personalausweis"]}  # (the demo town's)
STAFF = [{"staffToken": []}, {"staffSession": []}]
OFFICE = {"name": "office", "in": "path", "required": True, "schema": {"type": "string"}}
TICKET = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
COUNTER_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
COUNTER = {"name": "counter", "in": "path", "required": True, "schema": COUNTER_ID}
DENIED = {"401": _json(ERROR, "No credentials"),
          "403": _json(ERROR, "Another office's counter or ticket")}


# What can be done with a ticket in a response: OpenAPI links (clients and test generators
# follow them from a drawn or called ticket to its status and the counter's actions).
TICKET_OPERATIONS = {
    "status": ("/tickets/{id}", "get"), "reminder": ("/tickets/{id}/reminder", "post"),
    **{action: (f"/tickets/{{id}}/{action}", "post")
       for action in ("recall", "start", "finish", "no-show", "park", "transfer", "return")},
}
TICKET_LINKS = {
    name: {"operationRef": "#/paths/" + path.replace("/", "~1") + "/" + method,
           "parameters": {"id": "$response.body#/id"}}
    for name, (path, method) in TICKET_OPERATIONS.items()
}


def _ticket(description: str) -> dict:
    return {**_json(_ref("Ticket"), description), "links": TICKET_LINKS}


def _ticket_action(summary: str, conflict: str, body: dict | None = None,
                   unknown: str = "Unknown ticket") -> dict:
    operation = {
        "summary": summary, "security": STAFF, "parameters": [TICKET],
        "responses": {"200": _ticket("The ticket afterwards"), **DENIED,
                      "404": _json(ERROR, unknown), "409": _json(ERROR, conflict)},
    }
    if body:
        operation["requestBody"] = _body(body)
        operation["responses"]["422"] = _json(_ref("ValidationError"), "Invalid input")
    return {"post": operation}


PATHS = {
    "/offices/{office}/tickets": {"post": {
        "summary": "Draw a walk-in ticket (kiosk)",
        "parameters": [OFFICE],
        "requestBody": _body({"type": "object", "required": ["service"],
                              "properties": {"service": SERVICE_ID}}),
        "responses": {
            "201": _ticket("The new ticket"),
            "400": _json(ERROR, "The body is not a JSON object"),
            "404": _json(ERROR, "Unknown office"),
            "409": _json(ERROR, "Closed now, or the day's contingent is used up"),
            "422": _json(_ref("ValidationError"), "Unknown or not offered service"),
        },
    }},
    "/offices/{office}/checkins": {"post": {
        "summary": "Check in an appointment of today with its booking code",
        "parameters": [OFFICE],
        "requestBody": _body({"type": "object", "required": ["code"],
                              "properties": {"code": {"type": "string"}}}),
        "responses": {
            "201": _ticket("The appointment's ticket"),
            "404": _json(ERROR, "Unknown office or booking code"),
            "409": _json(ERROR, "Another day, cancelled, or already checked in"),
            "422": _json(_ref("ValidationError"), "No code given"),
        },
    }},
    "/tickets/{id}": {"get": {
        "summary": "A ticket's public status (the id is unguessable)",
        "parameters": [TICKET],
        "responses": {"200": _json(_ref("Ticket"), "OK"), "404": _json(ERROR, "Unknown ticket")},
    }},
    "/tickets/{id}/reminder": {"post": {
        "summary": "Ask for one email when three people are ahead of this waiting ticket "
                   "(sent at once if they are already that close; once per ticket, the "
                   "address cannot be changed; it is not kept after that email is sent, "
                   "nor after the day)",
        "parameters": [TICKET],
        "requestBody": _body({"type": "object", "required": ["email"],
                              "properties": {"email": {"type": "string", "format": "email"}}}),
        "responses": {
            "200": _json({"allOf": [_ref("Ticket"), {"type": "object", "properties": {
                "reminder": {"type": "string", "enum": ["asked", "sent"]}}}]},
                "The ticket; reminder: asked (will be sent) or sent (queued already)"),
            "400": _json(ERROR, "The body is not a JSON object"),
            "404": _json(ERROR, "Unknown ticket"),
            "409": _json(ERROR, "The ticket is no longer waiting, or a reminder was asked "
                                "for it already"),
            "422": _json(_ref("ValidationError"), "Not an email address"),
        },
    }},
    "/offices/{office}/display": {"get": {
        "summary": "What the waiting-room display shows (numbers only); live: "
                   "/offices/{office}/display/events (text/event-stream)",
        "parameters": [OFFICE],
        "responses": {"200": _json(_ref("Display"), "OK"), "404": _json(ERROR, "Unknown office")},
    }},
    "/counters": {"get": {
        "summary": "The counters the user may work at",
        "security": STAFF,
        "responses": {"200": _json({"type": "array", "items": _ref("Counter")}, "OK"),
                      "401": _json(ERROR, "No credentials")},
    }},
    "/counters/{counter}/call-next": {"post": {
        "summary": "Call the next ticket to this counter (atomic across servers)",
        "security": STAFF, "parameters": [COUNTER],
        "responses": {"200": _ticket("The called ticket"),
                      "204": {"description": "Nobody waits for this counter"}, **DENIED,
                      "404": _json(ERROR, "Unknown counter"),
                      "409": _json(ERROR, "The counter is paused or still has a ticket")},
    }},
    "/counters/{counter}/pause": {"post": {
        "summary": "Pause (default) or resume the counter",
        "security": STAFF, "parameters": [COUNTER],
        "requestBody": {"description": "optional; without a body the counter is paused",
                        "content": {"application/json": {"schema": {
            "type": "object", "properties": {"paused": {"type": "boolean"}}}}}},
        "responses": {"200": _json(_ref("Counter"), "The counter"), **DENIED,
                      "400": _json(ERROR, "A body that is not a JSON object"),
                      "422": _json(_ref("ValidationError"), "paused is not true or false"),
                      "404": _json(ERROR, "Unknown counter"),
                      "409": _json(ERROR, "The counter still has a ticket")},
    }},
    "/tickets/{id}/recall": _ticket_action("Call again (after the cooldown)",
                                           "Not called, or inside the cooldown"),
    "/tickets/{id}/start": _ticket_action("Start serving", "Not called"),
    "/tickets/{id}/finish": _ticket_action("Finish", "Not called or served"),
    "/tickets/{id}/no-show": _ticket_action("Record a no-show (after the set recalls)",
                                            "Not called, or too few recalls"),
    "/tickets/{id}/park": _ticket_action("Park (the counter is free again)",
                                         "Not called or served"),
    "/tickets/{id}/transfer": _ticket_action(
        "Back into the queue for another service, keeping the arrival time",
        "Not at a counter or parked",
        {"type": "object", "required": ["service"], "properties": {"service": SERVICE_ID}}),
    "/tickets/{id}/return": _ticket_action(
        "Call a parked ticket to a counter", "Not parked, or the counter is busy",
        {"type": "object", "required": ["counter"], "properties": {"counter": COUNTER_ID}},
        unknown="Unknown ticket or counter"),
    "/offices/{office}/appointments": {"get": {
        "summary": "Staff: the day's appointments of an office, with names and statuses",
        "security": STAFF,
        "parameters": [OFFICE, {"name": "date", "in": "query", "schema": DATE,
                                "description": "default: today"}],
        "responses": {"200": _json({"type": "array", "items": _ref("Appointment")}, "OK"),
                      "400": _json(ERROR, "Malformed date"), **DENIED,
                      "404": _json(ERROR, "Unknown office")},
    }},
}

SECURITY_SCHEMES = {
    "staffToken": {"type": "http", "scheme": "bearer",
                   "description": "personal API token (flask --app wsgi user token EMAIL)"},
    "staffSession": {"type": "apiKey", "in": "cookie", "name": "session",
                     "description": "browser session; writes also need the X-CSRFToken header"},
}

SCHEMAS = {
    "Ticket": {"type": "object",
               "required": ["id", "number", "status", "status_url", "position",
                            "estimated_wait_minutes", "counter"],
               "properties": {
        "id": {"type": "string"}, "number": {"type": "string", "examples": ["A017"]},
        "status": {"type": "string", "enum": ["waiting", "called", "serving", "parked", "done",
                                              "no_show", "unserved"]},
        "status_url": {"type": "string", "format": "uri"},
        "position": {"type": ["integer", "null"], "description": "people ahead; null unless waiting"},
        "estimated_wait_minutes": {"type": ["integer", "null"]},
        "counter": {"type": ["string", "null"]}, "counter_id": {"type": ["integer", "null"]},
        "service": {"type": "string"}, "office": {"type": "string"},
        "kind": {"type": "string", "enum": ["walk_in", "appointment"]},
        "recalls": {"type": "integer"}}},
    "Counter": {"type": "object", "required": ["id", "name", "office", "services"],
                "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "office": {"type": "string"},
        "services": {"type": "array", "items": {"type": "string"}},
        "paused": {"type": "boolean"}}},
    "Call": {"type": "object", "required": ["number", "counter"], "properties": {
        "number": {"type": "string"}, "counter": {"type": ["string", "null"]},
        "called_at": {"type": ["string", "null"], "format": "date-time"}}},
    "Display": {"type": "object", "required": ["current", "recent", "waiting"], "properties": {
        "current": {"type": "array", "items": _ref("Call")},
        "recent": {"type": "array", "items": _ref("Call")},
        "waiting": {"type": "integer"}}},
}
