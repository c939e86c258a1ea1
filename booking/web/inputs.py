"""Input no database can hold is refused at the door, for every page, form and API call.

- Text: PostgreSQL cannot store a NUL character, and no database a lone surrogate
  (a "\\ud800" escape is valid JSON but not text). A NUL or a surrogate anywhere in the
  path, a query parameter, a form field or a JSON string (keys included) is answered
  with 400 before any view runs, so no view can hand one to the database.
- JSON nested deeper than Python's recursion limit (well below the body limit) is a 400,
  not a RecursionError.
- Integers in URLs: the app's ``int`` converter refuses numbers beyond the 32-bit
  INTEGER of the id columns (404), for every ``<int:…>`` route.
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import gettext
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from booking.db import is_storable_text
from booking.web.validation import DB_INT_MAX


class DatabaseInt(IntegerConverter):
    """``<int:…>`` within the database's INTEGER range (larger numbers: no such page)."""

    def __init__(self, map, fixed_digits=0, min=-DB_INT_MAX - 1, max=DB_INT_MAX,
                 signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class InvalidInput(BadRequest):
    """400 with a message for people (the error page) and programs (the API's JSON)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.user_message = message


def _json_is_storable(data) -> bool:
    """Every string (and key) in a parsed JSON document is storable; iterative, so depth
    does not matter."""
    todo = [data]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            if not is_storable_text(item):
                return False
        elif isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return True


def _texts():
    yield request.path
    for key, value in request.args.items(multi=True):
        yield key
        yield value
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in request.form.items(multi=True):
            yield key
            yield value


def refuse_unstorable_input() -> None:
    """before_request: 400 for text no database can store and for over-deep JSON."""
    if not all(is_storable_text(text) for text in _texts()):
        raise InvalidInput(gettext("The request contains characters that are not allowed "
                                   "(such as a NUL character)."))
    if request.is_json:
        try:
            data = request.get_json(silent=True)  # cached for the view
        except RecursionError:
            raise InvalidInput(gettext("The JSON in the request is nested too deeply.")) from None
        if not _json_is_storable(data):
            raise InvalidInput(gettext("The request contains characters that are not allowed "
                                       "(such as a NUL character)."))


def init_app(app: Flask) -> None:
    """Call before any blueprint is registered: rules take their converter when added."""
    app.url_map.converters["int"] = DatabaseInt
    app.before_request(refuse_unstorable_input)
