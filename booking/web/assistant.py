"""The assistant's answers for the web: links made URLs, the JSON shape, the question
read from the query string. Shared by the citizen pages, the kiosk and the API."""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_babel import gettext

from booking.assistant.answers import MAX_QUESTION, Answer, Link
from booking.db import is_storable_text


def question_arg() -> tuple[str, str | None]:
    """(the question of ``?q=``, stripped; an error message if it cannot be asked)."""
    raw = request.args.get("q", "")
    question = " ".join(raw.split())
    if not question:
        return "", None
    if len(question) > MAX_QUESTION:
        return question[:MAX_QUESTION], gettext(
            "Please ask in at most %(num)d characters.", num=MAX_QUESTION)
    if not is_storable_text(question):
        return "", gettext("The question contains characters that cannot be read.")
    return question, None


def link_url(link: Link, lang: str, *, external: bool = False) -> str:
    values = {"_external": external}
    if link.kind == "calendar":
        if link.day is not None:
            values["day"] = link.day.isoformat()
        return url_for("citizen.calendar", office_id=link.office_id,
                       service_id=link.service_id, **values)
    if link.kind == "waitlist":
        return url_for("citizen.waitlist", service_id=link.service_id, **values)
    if link.kind == "office":
        if "citizen.office" in current_app.view_functions:  # the office pages, where built
            return url_for("citizen.office", office_id=link.office_id, **values)
        return url_for("citizen.assistant", q=link.label, lang=lang, **values)
    return url_for("citizen.service", service_id=link.service_id, **values)


def answer_json(answer: Answer, lang: str) -> dict:
    return {
        "sure": answer.sure,
        "intent": answer.intent,
        "text": "\n\n".join(answer.text),
        "paragraphs": answer.text,
        "language": lang,
        "service": answer.service_id,
        "office": answer.office_id,
        "fee_cents": answer.fee_cents,
        "next_free": answer.next_free_at.isoformat() if answer.next_free_at else None,
        "suggestions": answer.suggestions,
        "links": [{"kind": link.kind, "label": link.label,
                   "url": link_url(link, lang, external=True)} for link in answer.links],
    }
