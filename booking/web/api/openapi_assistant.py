"""The service assistant's part of the OpenAPI document."""

from __future__ import annotations

from booking.web.api.openapi_queue import ERROR, _json, _ref
from booking.web.api.openapi_status import LANG

PATHS = {
    "/assistant": {"get": {
        "summary": "An answer to a routine question (fees, what to bring, opening hours, "
                   "the next free appointment, addresses, the town's FAQ), in German or "
                   "English, from the town's current data",
        "description": "Understood without any cloud service: full-text search with "
        "German stemming, synonyms and small typos, and keyword rules for the intent. "
        "`sure: false` when the question matched nothing well enough or several services "
        "alike: the answer then offers the closest services and the offices' phone "
        "numbers. Every fee, date and time in the text is the data's (also in `fee_cents` "
        "and `next_free`).",
        "parameters": [
            {"name": "q", "in": "query", "required": True,
             "schema": {"type": "string", "minLength": 1, "maxLength": 300,
                        "pattern": "\\S"},
             "description": "The question, in German or English"},
            LANG,
        ],
        "responses": {
            "200": {**_json(_ref("AssistantAnswer"), "The answer; not personal"),
                    "headers": {"Access-Control-Allow-Origin": {
                        "description": "`*`: any web page may read it",
                        "schema": {"type": "string", "const": "*"}}}},
            "400": _json(ERROR, "No question, one longer than 300 characters, or one with "
                         "characters that cannot be read"),
        },
    }},
}

SCHEMAS = {
    "AssistantAnswer": {"type": "object", "additionalProperties": False,
                        "required": ["sure", "intent", "text", "paragraphs", "language",
                                     "service", "office", "fee_cents", "next_free",
                                     "suggestions", "links"],
                        "properties": {
        "sure": {"type": "boolean",
                 "description": "false: not sure what was asked; the text says so"},
        "intent": {"type": "string", "enum": [
            "fee", "documents", "hours", "next_appointment", "address", "phone",
            "duration", "service", "office", "faq", "not_sure"]},
        "text": {"type": "string", "description": "The answer, paragraphs separated by a "
                                                  "blank line"},
        "paragraphs": {"type": "array", "items": {"type": "string"}},
        "language": {"type": "string", "enum": ["de", "en"]},
        "service": {"type": ["string", "null"], "description": "The service it is about"},
        "office": {"type": ["string", "null"], "description": "The office it is about"},
        "fee_cents": {"type": ["integer", "null"], "minimum": 0,
                      "description": "The service's fee as in the data, for fee answers"},
        "next_free": {"type": ["string", "null"], "format": "date-time",
                      "description": "The first free start told in the answer"},
        "suggestions": {"type": "array", "items": {"type": "string"},
                        "description": "When not sure: the closest services' ids"},
        "links": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["kind", "label", "url"], "properties": {
                "kind": {"type": "string",
                         "enum": ["calendar", "service", "office", "waitlist"]},
                "label": {"type": "string"},
                "url": {"type": "string", "format": "uri"}}}}}},
}
