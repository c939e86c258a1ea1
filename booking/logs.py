"""The app's log output: JSON lines (production) or plain text (development).

``LOG_FORMAT`` ``json`` writes one JSON object per line to standard error (the journal,
the container log): ``time``, ``level``, ``logger``, ``message``, the request's
``request_id`` when there is one, the fields a record carries in ``extra={"fields":
{...}}`` (the request line of booking.web.request_log) and ``exception`` with the
traceback. ``text`` writes the same as readable lines.

Nothing personal is logged: request lines name the endpoint, never the path or the query
string; messages that name a path (Flask's "Exception on /manage/…") are masked
(booking.log_masking) and the database engine hides statement parameters in its errors
(``hide_parameters``, booking.config).

Handlers are process-wide: the ``booking`` logger (the app's and every module's) gets one
handler, set up by the last app created in the process (one in production).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from flask import Flask, g, has_request_context
from flask.logging import default_handler

from booking.log_masking import mask_secrets

FORMATS = ("json", "text")
REQUEST_LOGGER = "booking.request"


class _Stderr(logging.StreamHandler):
    """Writes to the current ``sys.stderr`` (a test may have replaced it)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


class _Context(logging.Filter):
    """Masks paths in the message and adds the request's id (when in a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/" in message:
            record.msg, record.args = mask_secrets(message), None
        if getattr(record, "request_id", None) is None and has_request_context():
            record.request_id = g.get("request_id")
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", None):
            entry["request_id"] = record.request_id
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        line = super().formatMessage(record)
        fields = dict(getattr(record, "fields", None) or {})
        if getattr(record, "request_id", None):
            fields.setdefault("request_id", record.request_id)
        return " ".join([line, *(f"{key}={value}" for key, value in fields.items())])


_handler = _Stderr()
_handler.addFilter(_Context())


def configure(app: Flask) -> None:
    """Route the ``booking`` loggers through one handler in ``LOG_FORMAT``; request lines
    (``booking.request``) at level INFO, the rest at their usual WARNING."""
    log_format = app.config["LOG_FORMAT"]
    if log_format not in FORMATS:
        from booking.config import ConfigError

        raise ConfigError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")
    _handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logger = logging.getLogger("booking")
    logger.removeHandler(default_handler)  # Flask's own: it would write every line twice
    if _handler not in logger.handlers:
        logger.addHandler(_handler)
    logging.getLogger(REQUEST_LOGGER).setLevel(logging.INFO)
