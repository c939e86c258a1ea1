"""Rate limits in the app (Flask-Limiter): slot listings, booking, moving, check-in and
ticket drawing, counted per client address AND per visitor.

A *visitor* is a random id in a signed cookie of its own (``VISITOR_COOKIE``), given to
every browser on a page that is not publicly cached. So the many honest people behind one
address (a town hall's Wi-Fi, a mobile carrier's NAT) each count on their own, and only
the address's total is capped, generously. Not the Flask session cookie: a request with
that cookie bypasses the one-second microcache of the public listings (nginx and
booking.web.caching), and every browser would then carry one.

A client without the cookie (a bot that throws cookies away, or an API client):

- listings (public, microcached) count per address only;
- every write counts in its address's "no cookie" bucket with the *visitor's* limit: all
  cookieless clients at an address together get one person's allowance, and each new
  cookie a bot fetches costs it a request of that allowance on the limited pages.

The kiosk is one device drawing tickets for everybody, so its pages count per address
only, with a limit no touch screen reaches (``RATELIMIT_KIOSK``); the office's networks
can be exempted altogether (``RATELIMIT_EXEMPT_NETWORKS``). Waiting-room displays,
ticket status pages and counters are not limited. Every exemption is in
:func:`is_exempt`.

One ``Limiter`` per app (Flask-Limiter keeps its storage and switches on the instance;
tests build several apps with different settings), bound to the views by endpoint.
"""

from __future__ import annotations

import ipaddress
import math
import secrets
import time

from flask import Flask, current_app, g, jsonify, make_response, render_template, request
from flask_babel import gettext, ngettext
from flask_limiter import Limiter, RequestLimit
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer

from booking.fairness.ratelimit import GROUPS
from booking.web.portal_keys import trusted_portal

VISITOR_COOKIE = "visitor"

#: endpoint → (group, methods limited; None: all)
ENDPOINTS: dict[str, tuple[str, list[str] | None]] = {
    "api.slots": ("SLOTS", None),
    "api.next_free_starts": ("SLOTS", None),
    "api.visit_slots": ("SLOTS", None),
    "citizen.service": ("SLOTS", None),
    "citizen.calendar": ("SLOTS", None),
    "citizen.move": ("SLOTS", None),
    "citizen.slots_ics": ("SLOTS", None),
    "citizen.assistant": ("SLOTS", None),  # answers read free slots too
    "api.assistant": ("SLOTS", None),
    "api.book": ("BOOKING", ["POST"]),
    "citizen.book": ("BOOKING", ["POST"]),
    "api.reschedule": ("MOVING", ["POST"]),
    "citizen.move_confirm": ("MOVING", ["POST"]),
    "citizen.waitlist": ("BOOKING", ["POST"]),  # a wish, like a booking
    "api.register_wish": ("BOOKING", ["POST"]),
    "api.check_in": ("CHECKIN", ["POST"]),
    "api.draw_ticket": ("TICKETS", ["POST"]),
    "kiosk.check_in": ("KIOSK", ["POST"]),
    "kiosk.draw": ("KIOSK", ["POST"]),
    "kiosk.assistant": ("KIOSK", None),
}

#: the blueprints whose responses hand out the visitor cookie
_COOKIE_BLUEPRINTS = ("citizen", "api")


# ---------------------------------------------------------------- who is asking


def client_address() -> str:
    """The client's address (ProxyFix has applied TRUSTED_PROXY_COUNT); an IPv6 address
    stands for its /64, which one subscriber usually gets whole."""
    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="booking-visitor")


def visitor_id() -> str | None:
    """The id of the request's valid visitor cookie, if any."""
    if "visitor_id" not in g:
        value = request.cookies.get(VISITOR_COOKIE)
        try:
            g.visitor_id = _serializer().loads(value) if value else None
        except BadSignature:
            g.visitor_id = None
        if not isinstance(g.visitor_id, str):
            g.visitor_id = None
    return g.visitor_id


def address_key() -> str:
    return "address:" + client_address()


def visitor_key() -> str:
    """The visitor, or for a request without the cookie its address's cookieless bucket."""
    visitor = visitor_id()
    return "visitor:" + visitor if visitor else "nocookie:" + client_address()


def _in_networks(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def is_exempt() -> bool:
    """Every exemption from the rate limits, in one place: logged-in staff (browser
    session or personal API token) and the office's own networks (kiosks, counter and
    display screens) and the trusted portals' API keys (booking.web.portal_keys)."""
    if _in_networks(request.remote_addr or "", current_app.extensions["ratelimit_exempt"]):
        return True
    return bool(current_user.is_authenticated) or trusted_portal() is not None


# ---------------------------------------------------------------- the answer: 429


def _remember_reset(limit: RequestLimit) -> None:
    """on_breach: when the exhausted window ends (for Retry-After)."""
    try:
        reset_at = float(limit.reset_at)
    except Exception:  # the storage failed just now: a minute is a fair guess
        reset_at = time.time() + 60
    g.ratelimit_reset_at = max(reset_at, g.get("ratelimit_reset_at", 0.0))


def retry_after_seconds() -> int:
    return max(1, math.ceil(g.get("ratelimit_reset_at", time.time() + 60) - time.time()))


def wait_message(seconds: int) -> str:
    if seconds <= 90:
        return ngettext("Too many requests from your connection in a short time. Please try "
                        "again in %(num)d second.",
                        "Too many requests from your connection in a short time. Please try "
                        "again in %(num)d seconds.", seconds)
    if seconds <= 90 * 60:
        return ngettext("Too many requests from your connection in a short time. Please try "
                        "again in %(num)d minute.",
                        "Too many requests from your connection in a short time. Please try "
                        "again in %(num)d minutes.", math.ceil(seconds / 60))
    return ngettext("Too many requests from your connection in a short time. Please try "
                    "again in %(num)d hour.",
                    "Too many requests from your connection in a short time. Please try "
                    "again in %(num)d hours.", math.ceil(seconds / 3600))


def _too_many_requests(exc: RateLimitExceeded):
    from booking.metrics import RATE_LIMITED
    from booking.web import is_api_request

    RATE_LIMITED.labels(request.endpoint or "none").inc()
    seconds = retry_after_seconds()
    message = wait_message(seconds)
    if is_api_request():
        response = jsonify({"error": message})
    else:
        response = make_response(render_template(
            "errors/error.html", code=429, title=gettext("Too many requests"), message=message))
    response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- the visitor cookie


def _hand_out_visitor_cookie(response):
    """A browser without (a valid) visitor cookie gets one, except on a response that
    nginx may cache for everybody (it would not store it with a cookie) and to exempt
    clients."""
    if (request.blueprint not in _COOKIE_BLUEPRINTS or visitor_id() is not None
            or response.cache_control.public or response.status_code >= 500
            or request.method == "OPTIONS"):
        return response
    try:
        if is_exempt():
            return response
    except Exception:  # e.g. the database is down: the cookie can wait
        return response
    config = current_app.config
    response.set_cookie(
        VISITOR_COOKIE, _serializer().dumps(secrets.token_urlsafe(16)),
        secure=config["SESSION_COOKIE_SECURE"], httponly=True,
        samesite=config.get("SESSION_COOKIE_SAMESITE") or "Lax", path="/")
    return response


# ---------------------------------------------------------------- wiring


def _networks(value) -> list:
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split() if part]
    return [ipaddress.ip_network(part.strip(), strict=False) for part in value or ()]


def init_app(app: Flask) -> None:
    """Bind the limits to the views (after the blueprints are registered)."""
    app.extensions["ratelimit_exempt"] = _networks(app.config.get("RATELIMIT_EXEMPT_NETWORKS"))
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    limiter = Limiter(key_func=address_key, on_breach=_remember_reset)
    limiter.init_app(app)  # reads RATELIMIT_ENABLED (fairness.apply_switch has run)
    if not limiter.enabled:
        return
    app.extensions["booking_limiter"] = limiter
    for endpoint, (group, methods) in ENDPOINTS.items():
        # Flask-Limiter checks a view's limits when the view is called: wrap the view.
        # The visitor's limit first: a visitor refused by its own limit then uses up
        # nothing of the address's, which its neighbours behind the same NAT share.
        view = app.view_functions[endpoint]
        if GROUPS[group][0] is not None:
            view = limiter.shared_limit(
                app.config[f"RATELIMIT_{group}"], scope=f"{group.lower()}/visitor",
                key_func=visitor_key, methods=methods,
                exempt_when=_listing_exempt if group == "SLOTS" else is_exempt,
            )(view)
        app.view_functions[endpoint] = limiter.shared_limit(
            app.config[f"RATELIMIT_{group}_PER_ADDRESS"], scope=f"{group.lower()}/address",
            key_func=address_key, methods=methods, exempt_when=is_exempt,
        )(view)
    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    app.after_request(_hand_out_visitor_cookie)


def _listing_exempt() -> bool:
    """Listings without the cookie count per address only: they are public (microcached),
    so a page of them never hands out the cookie."""
    return visitor_id() is None or is_exempt()
