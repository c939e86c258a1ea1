"""The service assistant's page: a question, its answer with links to book or to the
office."""

from __future__ import annotations

from flask import render_template

from booking.assistant.answers import answer
from booking.db import utcnow
from booking.i18n import current_language
from booking.web.assistant import link_url, question_arg
from booking.web.citizen import bp


@bp.get("/assistant")
def assistant():
    lang = current_language()
    question, error = question_arg()
    found = answer(question, lang, utcnow()) if question and not error else None
    links = [(link, link_url(link, lang)) for link in found.links] if found else []
    return render_template("citizen/assistant.html", question=question, error=error,
                           answer=found, links=links), 422 if error else 200
