"""The proof of work on citizen forms (booking, moving; the waitlist can use it too).

A form that needs it gets a ``bot_check`` field (:func:`bot_check_field`: the hidden
no-JavaScript waiting token), renders it with the ``bot_check`` macro of
``templates/_bot_check.html`` (the widget, its explanation and the error) and, after its
own validation, calls :func:`check_form`, which marks the field and returns False when the
check fails. Off (``measure_on(config, "ALTCHA")`` false): nothing is shown or checked.

The ALTCHA widget puts its solution into the form as the ``altcha`` field. Without it the
waiting token must be at least ``ALTCHA_NOJS_WAIT_SECONDS`` old.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, request, url_for
from flask_babel import gettext, ngettext
from wtforms import HiddenField

from booking.db import utcnow
from booking.fairness import altcha, measure_on


def is_required() -> bool:
    return measure_on(current_app.config, "ALTCHA")


def settings() -> altcha.Settings:
    config = current_app.config
    return altcha.Settings(
        secret=config["SECRET_KEY"], cost=int(config["ALTCHA_COST"]),
        max_number=int(config["ALTCHA_MAX_NUMBER"]),
        expires=timedelta(minutes=float(config["ALTCHA_EXPIRE_MINUTES"])),
        wait=timedelta(seconds=float(config["ALTCHA_NOJS_WAIT_SECONDS"])))


def new_wait_token() -> str:
    return altcha.new_wait_token(settings(), utcnow())


def bot_check_field() -> HiddenField:
    """The form field of the check: it carries the waiting token, and its errors."""
    return HiddenField(default=lambda: new_wait_token() if is_required() else "")


def refusal_message(exc: altcha.ChallengeRefused) -> str:
    """The message a citizen sees on the form."""
    if exc.reason == altcha.TOO_EARLY:
        return ngettext(
            "Please run the check against automated bookings (tick the box and wait until "
            "it says it is done). Without JavaScript, please send the form again in "
            "%(num)d second.",
            "Please run the check against automated bookings (tick the box and wait until "
            "it says it is done). Without JavaScript, please send the form again in "
            "%(num)d seconds.", exc.wait_seconds)
    if exc.reason == altcha.USED:
        return gettext("This check against automated bookings was used already. Please run "
                       "it again.")
    if exc.reason == altcha.EXPIRED:
        return gettext("The check against automated bookings has expired. Please run it "
                       "again.")
    return gettext("The check against automated bookings failed. Please run it again.")


def check(payload: str | None, wait_token: str | None, bound_to: str | None) -> None:
    """Accept a solved challenge or, without one, the waiting token; raises
    ChallengeRefused. Records what it accepted in the request's transaction."""
    if payload:
        altcha.verify(payload, settings(), utcnow(), bound_to=bound_to)
    else:
        altcha.verify_wait_token(wait_token, settings(), utcnow(), bound_to=bound_to)


def check_form(form, bound_to: str | None = None) -> bool:
    """True if the form may go on (or the measure is off); otherwise False, with the
    message on ``form.bot_check``. ``bound_to``: the form's submission key, so that the
    same submission sent twice (a double click) is not refused."""
    if not is_required():
        return True
    field = form.bot_check
    try:
        check(request.form.get("altcha"), field.data, bound_to)
    except altcha.ChallengeRefused as exc:
        field.errors = [refusal_message(exc)]
        if exc.reason != altcha.TOO_EARLY:  # a fresh token: the waiting starts again
            field.data = new_wait_token()
        return False
    return True


def widget_context() -> dict:
    """What the ``bot_check`` macro shows: the widget's challenge and worker URLs and its
    texts in the page's language."""
    return {
        "required": is_required(),
        "challenge_url": url_for("api.altcha_challenge"),
        "worker_url": url_for("static", filename="vendor/altcha-pbkdf2.js"),
        "wait_seconds": int(float(current_app.config["ALTCHA_NOJS_WAIT_SECONDS"])),
        # no logo, no "Protected by ALTCHA" link: nothing leads away from the form
        "configuration": {"hideLogo": True, "hideFooter": True},
        "strings": widget_strings(),
    }


def widget_strings() -> dict[str, str]:
    """The widget's texts (its i18n keys), from our translations."""
    return {
        "ariaLinkLabel": gettext("About the check against automated bookings"),
        "cancel": gettext("Cancel"),
        "enterCode": gettext("Enter code"),
        "enterCodeAria": gettext("Enter the code you hear. Press Space to play the audio."),
        "enterCodeFromImage": gettext("To continue, please enter the code from the image."),
        "error": gettext("The check failed. Please try again."),
        "expired": gettext("The check has expired. Please run it again."),
        "footer": "",
        "getAudioChallenge": gettext("Play the code as audio"),
        "label": gettext("I am not a robot"),
        "loading": gettext("Loading …"),
        "reload": gettext("Reload"),
        "verify": gettext("Check"),
        "verificationRequired": gettext("Please run the check first."),
        "verified": gettext("Done: you can send the form"),
        "verifying": gettext("Checking … (a few seconds)"),
        "waitAlert": gettext("Checking … please wait."),
    }


def init_app(app: Flask) -> None:
    app.add_template_global(widget_context, "bot_check_widget")
