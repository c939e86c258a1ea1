"""For operators: ``/metrics`` (Prometheus) and the request line of the log.

Every request gets an id: the client's (or nginx's) ``X-Request-Id`` when it looks like
one, else a new one; it is echoed in the response's ``X-Request-Id`` and carried by every
log line of the request. After the request's commit (booking.db.commit_request) the
request is counted by endpoint, method and status class, its time observed, and one line
logged: method, endpoint, status, duration, request id. Never the path or the query
string: they carry manage tokens, booking codes and searched names.

``/metrics`` answers a scraper that sends ``Authorization: Bearer <METRICS_TOKEN>`` or
comes from ``METRICS_ALLOW_NETWORKS`` (default: this host only); anybody else gets 404
(403 for a wrong token). It is not rate limited, never cached, and not part of the API's
OpenAPI document (deploy/README.md describes it).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import time
import uuid

from flask import Blueprint, Flask, Response, abort, current_app, g, request

from booking import metrics
from booking.db import utcnow
from booking.logs import REQUEST_LOGGER
from booking.metrics import exposition

bp = Blueprint("operations", __name__)
log = logging.getLogger(REQUEST_LOGGER)

_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def init_app(app: Flask) -> None:
    """Register the request hooks and the blueprint. Call before the commit hook is
    registered (Flask runs after-request hooks in reverse): the request is counted and
    logged once its commit is done."""
    app.extensions["metrics_allow"] = networks(app.config["METRICS_ALLOW_NETWORKS"])
    app.before_request(_start)
    app.after_request(_finish)
    app.register_blueprint(bp)


def networks(value) -> list:
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split() if part]
    return [ipaddress.ip_network(part.strip(), strict=False) for part in value or ()]


# ---------------------------------------------------------------- every request


def _start() -> None:
    g.request_started = time.perf_counter()
    given = request.headers.get("X-Request-Id", "")
    g.request_id = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex


def endpoint_label() -> str:
    """The route's endpoint name; ``none`` when no route matched (404, 405)."""
    return request.url_rule.endpoint if request.url_rule is not None else "none"


def method_label() -> str:
    return request.method if request.method in _METHODS else "other"


def _finish(response: Response) -> Response:
    if "request_id" not in g:  # a hook before ours answered: still count and log it
        _start()
    duration = time.perf_counter() - g.request_started
    endpoint, method, status = endpoint_label(), method_label(), response.status_code
    metrics.HTTP_REQUESTS.labels(endpoint, method, f"{status // 100}xx").inc()
    metrics.HTTP_DURATION.labels(endpoint).observe(duration)
    response.headers["X-Request-Id"] = g.request_id
    log.info("request", extra={"fields": {
        "method": method, "endpoint": endpoint, "status": status,
        "duration_ms": round(duration * 1000, 1), "request_id": g.request_id}})
    return response


# ---------------------------------------------------------------- /metrics


def _client_address():
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return None
    return address.ipv4_mapped or address if address.version == 6 else address


def check_access() -> None:
    """Abort unless the request carries the metrics token or comes from an allowed
    network."""
    token = current_app.config.get("METRICS_TOKEN") or ""
    authorization = request.headers.get("Authorization", "")
    scheme, _, given = authorization.partition(" ")
    if token and scheme.lower() == "bearer" \
            and hmac.compare_digest(given.strip().encode(), token.encode()):
        return
    address = _client_address()
    if address is not None and any(address in net for net in current_app.extensions["metrics_allow"]):
        return
    abort(403 if authorization else 404)


@bp.get("/metrics")
def scrape():
    check_access()
    response = Response(exposition.render(utcnow()),
                        content_type=exposition.CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response
