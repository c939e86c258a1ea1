"""The service assistant as JSON, for phone assistants and the 115 service line."""

from __future__ import annotations

from flask import jsonify
from flask_babel import force_locale, gettext

from booking.assistant.answers import answer
from booking.db import utcnow
from booking.web import feed
from booking.web.api import bp
from booking.web.assistant import answer_json, question_arg


@bp.get("/assistant")
def assistant():
    lang, by_header = feed.feed_language()
    with force_locale(lang):
        question, error = question_arg()
        if error is None and not question:
            error = gettext("Ask a question with the parameter q.")
        if error is not None:
            return jsonify({"error": error}), 400
        response = jsonify(answer_json(answer(question, lang, utcnow()), lang))
    if by_header:
        response.vary.add("Accept-Language")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
