"""Template helpers: language switch, formatting in the office's time zone."""

from __future__ import annotations

from flask import Flask, request, url_for

from booking import i18n
from booking.i18n import current_language
from booking.scheduling import visit_texts
from booking.scheduling.codes import format_code
from booking.web.queue_presenters import counter_title


def _switch_language_url(language: str) -> str:
    if request.endpoint is None or request.url_rule is None:
        return url_for("citizen.catalogue", lang=language)
    args = request.args.to_dict()
    args.update(request.view_args or {})
    if request.method == "POST" and request.form.get("start"):
        # a form re-rendered with errors is reached again by GET with its start
        args.setdefault("start", request.form["start"])
    args["lang"] = language
    return url_for(request.endpoint, **args)


def register(app: Flask) -> None:
    @app.context_processor
    def _inject():
        return {
            "language": current_language(),
            "switch_language_url": _switch_language_url,
        }

    app.add_template_filter(format_code, "booking_code")
    app.add_template_filter(counter_title, "counter_title")
    app.add_template_filter(
        lambda value, tz: i18n.local_datetime(value, tz, current_language()), "local_datetime"
    )
    app.add_template_filter(lambda value, tz: i18n.local_time(value, tz, current_language()), "local_time")
    app.add_template_filter(lambda value, fmt="full": i18n.local_date(value, current_language(), fmt),
                            "local_date")
    app.add_template_filter(lambda cents: i18n.fee(cents, current_language()), "fee")
    # an appointment's lines (services × persons): "Reisepass × 3, Personalausweis"
    app.add_template_filter(
        lambda lines, language=None: visit_texts.summary(lines, language or current_language()),
        "services_summary")
    app.add_template_filter(
        lambda lines, language=None: visit_texts.bring_text(lines, language or current_language()),
        "services_bring")
    app.add_template_filter(visit_texts.fee_cents, "services_fee_cents")
    app.add_template_filter(
        lambda closure, tz: i18n.period(closure.starts_at, closure.ends_at, tz, current_language()),
        "closure_period")
