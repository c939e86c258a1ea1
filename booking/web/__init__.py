"""HTTP layer: blueprints by audience, security headers, error pages."""

from __future__ import annotations

from flask import Flask, current_app, g, jsonify, make_response, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from booking.extensions import csrf
from booking.web import bot_check, caching, inputs, limits

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)


def register(app: Flask) -> None:
    from booking.web import (  # noqa: F401  (auth: loaders)
        admin,
        api,
        auth,
        citizen,
        context,
        counter,
        display,
        kiosk,
        staff,
        stats,
        widget,
    )

    inputs.init_app(app)  # before the blueprints: their rules take its int converter
    app.register_blueprint(citizen.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(stats.bp, url_prefix="/admin")
    app.register_blueprint(counter.bp, url_prefix="/counter")
    app.register_blueprint(display.bp)
    app.register_blueprint(kiosk.bp)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(widget.bp, url_prefix="/widget")
    csrf.exempt(api.bp)  # token-authenticated JSON, no cookies
    app.session_interface = caching.SessionInterface()
    context.register(app)
    bot_check.init_app(app)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    limits.init_app(app)  # after the blueprints: binds the limits to their views


def is_api_request() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


def _security_headers(response):
    headers = response.headers
    if getattr(g, "frameable", False):
        # the status widget: framed by the sites in WIDGET_FRAME_ANCESTORS (X-Frame-Options
        # cannot name sites; browsers that know CSP ignore it anyway)
        headers.setdefault("Content-Security-Policy", CSP.replace(
            "frame-ancestors 'none'",
            "frame-ancestors " + current_app.config["WIDGET_FRAME_ANCESTORS"]))
    else:
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if getattr(g, "private_page", False) or getattr(g, "staff_page", False):
        # pages reached with a manage token: no caching, no token in Referer (a view
        # may add that the response is personal: the appointment's calendar file)
        headers["Cache-Control"] = ("private, no-store" if response.cache_control.private
                                    else "no-store")
        headers["Referrer-Policy"] = "no-referrer"
    return response


def _generic_messages() -> dict[int, tuple[str, str]]:
    return {
        400: (gettext("Bad request"), gettext("The request could not be understood.")),
        403: (gettext("Forbidden"), gettext("You may not open this page.")),
        404: (gettext("Not found"), gettext("This page does not exist or the link is no longer valid.")),
        405: (gettext("Method not allowed"), gettext("This action is not possible here.")),
        413: (gettext("Too large"), gettext("The data sent was too large.")),
        429: (gettext("Too many requests"), gettext("Please wait a moment and try again.")),
    }


def _http_error(exc: HTTPException):
    code = exc.code or 500
    if is_api_request():
        response = jsonify({"error": exc.name, "message": exc.description})
    else:
        title, message = _generic_messages().get(
            code, (gettext("Error"), gettext("Something went wrong. Please try again later."))
        )
        if getattr(exc, "user_message", None):
            message = exc.user_message
        response = make_response(render_template("errors/error.html", code=code, title=title,
                                                 message=message))
    # the exception's own headers: Allow on 405, WWW-Authenticate on 401, Retry-After …
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response, code


def _csrf_error(exc: CSRFError):
    message = gettext("The form has expired. Please go back, reload the page and try again.")
    return render_template("errors/error.html", code=400, title=gettext("Form expired"),
                           message=message), 400
