"""Settings from the environment, with safe development defaults.

Environment variables (all optional in development):

``BOOKING_ENV``        ``production`` turns on the production checks (default ``development``).
``SECRET_KEY``         Required in production; the app refuses to start without it.
``DATABASE_URL``       SQLAlchemy URL; ``postgresql://`` URLs use psycopg 3.
                       Default: ``sqlite:///<instance>/booking.db``.
``MAIL_SERVER`` …      ``MAIL_PORT``, ``MAIL_USE_TLS``, ``MAIL_USE_SSL``, ``MAIL_USERNAME``,
                       ``MAIL_PASSWORD``, ``MAIL_DEFAULT_SENDER``. Without ``MAIL_SERVER`` emails
                       are written as ``.eml`` files to ``<instance>/outbox-mail/``.
``BOOKING_BASE_URL``   Absolute base URL for links in emails (default http://127.0.0.1:5000).
``ACCESSIBILITY_EMAIL``, ``ACCESSIBILITY_PHONE``, ``ACCESSIBILITY_STATEMENT_DATE`` (ISO date),
``PRIVACY_EMAIL``      Contacts and date shown in the accessibility statement and privacy notice
                       (``PRIVACY_EMAIL``: the data protection officer's address).
``PRIVACY_CONTROLLER``, ``PRIVACY_CONTROLLER_ADDRESS``
                       The controller (the town) named in the privacy notice, and its postal
                       address (defaults: the demo town; a warning in production when unset).
``PRIVACY_DPO``        The data protection officer: name and postal contact.
``PRIVACY_AUTHORITY``  The supervisory authority for complaints (optional; empty: the notice
                       names the authority of the citizen's federal state in general).
``PRIVACY_LOG_DAYS``   Days the server logs are kept, as the operator set up log rotation
                       (default 7); the notice states it.
``IMPRINT_PROVIDER``, ``IMPRINT_ADDRESS``, ``IMPRINT_REPRESENTATIVE``, ``IMPRINT_EMAIL``,
``IMPRINT_PHONE``      The imprint (/impressum): the provider (the town; default
                       ``PRIVACY_CONTROLLER``, else the demo town, with a warning in production),
                       its postal address (default ``PRIVACY_CONTROLLER_ADDRESS``), who
                       represents it (the mayor) and how to reach it.
``IMPRINT_VAT_ID``, ``IMPRINT_AUTHORITY``
                       Optional: the VAT identification number and the supervisory authority
                       (empty: not shown).
``DGS_VIDEO``          The town's video in German Sign Language for /gebaerdensprache: a file
                       in the instance folder (a path relative to it, served by the app) or
                       an ``https://`` URL on the town's own server (empty: the page says that
                       no video is available yet; a warning in production).
``DGS_VIDEO_CAPTIONS`` Its captions, a WebVTT file in the instance folder (optional).
``RETENTION_DAYS``     Days personal data is kept after the appointment, its cancellation or the
                       sending of an email (default 1); the purge (``flask purge``) deletes it.
``QUEUE_ALWAYS_OPEN``  ``1``: the kiosk ignores opening hours (demo; ignored in production).
``OUTBOX_POLL_SECONDS`` How often each app process looks for due emails (default 5).
``PERIODIC_JOBS_SECONDS`` How often each app process's background sender queues due
                       appointment reminders and runs the waitlist matcher (default 60;
                       0: never, cron runs ``flask send-reminders`` and ``flask waitlist-offers``).
``DATABASE_POOL_SIZE``, ``DATABASE_MAX_OVERFLOW``, ``DATABASE_POOL_TIMEOUT``
                       SQLAlchemy connection pool per process (PostgreSQL; defaults 5, 10, 30 s).
                       Every connection is pinged before use, so a dropped one is replaced
                       before a request gets it. Connections are held only while a request
                       or a stream's render runs.
``TRUSTED_PROXY_COUNT`` Reverse proxies in front of the app whose ``X-Forwarded-For`` and
                       ``X-Forwarded-Proto`` are believed (default 0: none; 1 behind the shipped
                       nginx). The client address (login throttle, logs) comes from there.
``STAFF_SESSION_IDLE_MINUTES``, ``STAFF_SESSION_MAX_HOURS``
                       A staff session ends after this long without a request (default 60)
                       and this long after the login (default 12).
``ANTI_ABUSE``         ``0`` turns every measure of booking.fairness off at once (default on).
``ALTCHA_ENABLED``, ``RATELIMIT_ENABLED``, ``EMAIL_CAP_ENABLED``, ``DOUBLE_OPT_IN_ENABLED``,
``RELEASE_DELAY_ENABLED``
                       Each measure on its own (default on; off whenever ANTI_ABUSE is off).
``RATELIMIT_STORAGE_URI`` ``memory://`` (default: each process counts alone) or
                       ``redis://host:6379/0`` (several workers or servers count together).
``RATELIMIT_SLOTS``, ``RATELIMIT_BOOKING``, ``RATELIMIT_MOVING``, ``RATELIMIT_CHECKIN``,
``RATELIMIT_TICKETS`` (per visitor) and each with ``_PER_ADDRESS``; ``RATELIMIT_KIOSK_PER_ADDRESS``,
``RATELIMIT_EXEMPT_NETWORKS``, ``RATELIMIT_KEY_PREFIX``: see booking.web.limits and the README.
``ALTCHA_COST``, ``ALTCHA_MAX_NUMBER``
                       The proof of work: PBKDF2 iterations per try (default 5000) and the
                       most tries (default 10000; the server picks a number between half of
                       it and it). A phone needs about a second or two with the defaults.
``ALTCHA_EXPIRE_MINUTES`` How long a challenge can be solved and sent (default 20).
``ALTCHA_NOJS_WAIT_SECONDS``
                       Without JavaScript a form is accepted without proof of work once it
                       is this old (default 20 seconds; each form once).
``WIDGET_FRAME_ANCESTORS`` The sites that may show the status widget (/widget/...) in a frame:
                       a space-separated CSP frame-ancestors source list, e.g.
                       ``https://www.musterstadt.de`` (default ``*``: any site). Every other
                       page refuses to be framed.
``REALTIME_BACKEND``   ``auto`` (default), ``postgres`` or ``memory``; see booking.realtime.
``REALTIME_HEARTBEAT_SECONDS``, ``REALTIME_STREAM_MAX_SECONDS``
                       Ping interval (default 15) and lifetime (default 300) of event streams.
``LOG_FORMAT``         ``json`` (one JSON object per line; the default in production) or
                       ``text`` (the default in development); see booking.logs.
``METRICS_TOKEN``      A scraper sending ``Authorization: Bearer <token>`` may read ``/metrics``
                       (default unset: no token is accepted).
``METRICS_ALLOW_NETWORKS`` Addresses (CIDRs, comma- or space-separated) that may read
                       ``/metrics`` without the token (default ``127.0.0.0/8,::1``: this host).
                       See booking.web.operations and deploy/README.md.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import date
from urllib.parse import urlsplit

from werkzeug.security import safe_join

from booking.fairness import MEASURES
from booking.fairness.ratelimit import config_defaults as ratelimit_settings

#: the demo town's controller: in production this default means the setting is missing
DEMO_CONTROLLER = "Stadt Musterstadt"


class ConfigError(RuntimeError):
    """The configuration is not safe to run with."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# a CSP source: a keyword, a scheme (https:), or a host with optional scheme, port and path
_FRAME_SOURCE = re.compile(
    r"^(\*|'self'|'none'|[a-z][a-z0-9+.-]*:|"
    r"([a-z][a-z0-9+.-]*://)?(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:(\d+|\*))?(/[^\s;,']*)?)$",
    re.IGNORECASE)


def frame_ancestors(value: str | None) -> str:
    """The WIDGET_FRAME_ANCESTORS source list, checked (it goes into a header)."""
    sources = (value or "*").split()
    bad = [s for s in sources if not _FRAME_SOURCE.match(s)]
    if bad or not sources or ("'none'" in sources and len(sources) > 1):
        raise ConfigError(f"WIDGET_FRAME_ANCESTORS: not a CSP source list: {value!r}")
    return " ".join(sources)


def media_setting(name: str, value: str | None, instance_path: str, *,
                  url_allowed: bool = True) -> str:
    """A DGS_VIDEO-like setting, checked: empty, an http(s) URL, or a path relative to the
    instance folder that stays inside it (the app serves that file)."""
    value = (value or "").strip()
    if not value:
        return ""
    if re.match(r"^[a-z][a-z0-9+.-]*:", value, re.IGNORECASE):
        parts = urlsplit(value)
        if url_allowed and parts.scheme in ("http", "https") and parts.netloc:
            return value
        raise ConfigError(f"{name}: not a file in the instance folder"
                          f"{' or an http(s) URL' if url_allowed else ''}: {value!r}")
    if safe_join(instance_path, value) is None:
        raise ConfigError(f"{name}: the file must be inside the instance folder: {value!r}")
    return value


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgres(ql)://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_config(instance_path: str, environ: dict[str, str] | None = None) -> dict:
    """Build the Flask config mapping from ``environ`` (default ``os.environ``)."""
    env = os.environ if environ is None else environ
    production = env.get("BOOKING_ENV", "development").lower() == "production"
    secret = env.get("SECRET_KEY")
    if production and not secret:
        raise ConfigError("SECRET_KEY must be set when BOOKING_ENV=production")
    if production and not env.get("DATABASE_URL"):
        # each server would otherwise quietly keep its own SQLite file
        raise ConfigError("DATABASE_URL must be set when BOOKING_ENV=production")
    database_url = env.get("DATABASE_URL") or "sqlite:///" + os.path.join(
        instance_path, "booking.db"
    )
    mail_server = env.get("MAIL_SERVER") or None
    # Every checkout pings its connection (one round trip): a connection the database
    # dropped (a restart, pg_terminate_backend, a firewall's idle timeout) is replaced,
    # with every older one of the pool, before a request gets it instead of failing it.
    # hide_parameters: a database error in the log shows the statement, never the values
    # (names, addresses, tokens)
    engine_options: dict = {"pool_pre_ping": True, "hide_parameters": True}
    if database_url.startswith(("postgres://", "postgresql")):
        engine_options.update(
            pool_size=int(env.get("DATABASE_POOL_SIZE") or 5),
            max_overflow=int(env.get("DATABASE_MAX_OVERFLOW") or 10),
            pool_timeout=float(env.get("DATABASE_POOL_TIMEOUT") or 30),
        )
    anti_abuse = _bool(env.get("ANTI_ABUSE"), default=True)
    return {
        "ANTI_ABUSE": anti_abuse,
        **{f"{name}_ENABLED": _bool(env.get(f"{name}_ENABLED"), default=True)
           for name in MEASURES},
        **ratelimit_settings(env),
        "ALTCHA_COST": int(env.get("ALTCHA_COST") or 5000),
        "ALTCHA_MAX_NUMBER": int(env.get("ALTCHA_MAX_NUMBER") or 10000),
        "ALTCHA_EXPIRE_MINUTES": float(env.get("ALTCHA_EXPIRE_MINUTES") or 20),
        "ALTCHA_NOJS_WAIT_SECONDS": float(env.get("ALTCHA_NOJS_WAIT_SECONDS") or 20),
        "BOOKING_ENV": "production" if production else "development",
        # A random development key: sessions and CSRF tokens do not survive a restart.
        "SECRET_KEY": secret or secrets.token_hex(32),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "SQLITE_BEGIN_IMMEDIATE": True,
        "MAIL_SERVER": mail_server,
        "MAIL_PORT": int(env.get("MAIL_PORT") or 25),
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _bool(env.get("MAIL_USE_SSL")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER") or "buergerbuero@example.org",
        "MAIL_TIMEOUT": float(env.get("MAIL_TIMEOUT") or 20),
        "MAIL_FILE_DIR": os.path.join(instance_path, "outbox-mail"),
        "BOOKING_BASE_URL": (env.get("BOOKING_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        "OUTBOX_POLL_SECONDS": float(env.get("OUTBOX_POLL_SECONDS") or 5),
        "PERIODIC_JOBS_SECONDS": float(env.get("PERIODIC_JOBS_SECONDS") or 60),
        "ACCESSIBILITY_EMAIL": env.get("ACCESSIBILITY_EMAIL") or "barrierefreiheit@musterstadt.example",
        "ACCESSIBILITY_PHONE": env.get("ACCESSIBILITY_PHONE") or "+49 69 1234-0",
        "ACCESSIBILITY_STATEMENT_DATE": date.fromisoformat(
            env.get("ACCESSIBILITY_STATEMENT_DATE") or "2026-11-22"),
        "PRIVACY_EMAIL": env.get("PRIVACY_EMAIL") or "datenschutz@musterstadt.example",
        "RETENTION_DAYS": int(env.get("RETENTION_DAYS") or 1),
        "PRIVACY_CONTROLLER": env.get("PRIVACY_CONTROLLER") or DEMO_CONTROLLER,
        "PRIVACY_CONTROLLER_ADDRESS": env.get("PRIVACY_CONTROLLER_ADDRESS")
        or "Marktplatz 1, 63065 Musterstadt",
        "PRIVACY_DPO": env.get("PRIVACY_DPO")
        or "Maria Beispiel, Datenschutzbeauftragte, Marktplatz 1, 63065 Musterstadt",
        "PRIVACY_AUTHORITY": env.get("PRIVACY_AUTHORITY", "Der Hessische Beauftragte für "
                                     "Datenschutz und Informationsfreiheit, Postfach 3163, "
                                     "65021 Wiesbaden").strip(),
        "PRIVACY_LOG_DAYS": int(env.get("PRIVACY_LOG_DAYS") or 7),
        "IMPRINT_PROVIDER": env.get("IMPRINT_PROVIDER") or env.get("PRIVACY_CONTROLLER")
        or DEMO_CONTROLLER,
        "IMPRINT_ADDRESS": env.get("IMPRINT_ADDRESS") or env.get("PRIVACY_CONTROLLER_ADDRESS")
        or "Marktplatz 1, 63065 Musterstadt",
        "IMPRINT_REPRESENTATIVE": env.get("IMPRINT_REPRESENTATIVE")
        or "Oberbürgermeisterin Erika Beispiel",
        "IMPRINT_EMAIL": env.get("IMPRINT_EMAIL") or "info@musterstadt.example",
        "IMPRINT_PHONE": env.get("IMPRINT_PHONE") or "+49 69 1234-0",
        "IMPRINT_VAT_ID": (env.get("IMPRINT_VAT_ID") or "").strip(),
        "IMPRINT_AUTHORITY": env.get("IMPRINT_AUTHORITY", "Regierungspräsidium Darmstadt, "
                                     "Luisenplatz 2, 64283 Darmstadt").strip(),
        "DGS_VIDEO": media_setting("DGS_VIDEO", env.get("DGS_VIDEO"), instance_path),
        "DGS_VIDEO_CAPTIONS": media_setting("DGS_VIDEO_CAPTIONS", env.get("DGS_VIDEO_CAPTIONS"),
                                            instance_path, url_allowed=False),
        # demo only (make run): the kiosk gives tickets at any hour; ignored in production
        "QUEUE_ALWAYS_OPEN": (not production) and env.get("QUEUE_ALWAYS_OPEN") == "1",
        "OUTBOX_BACKGROUND": _bool(env.get("OUTBOX_BACKGROUND"), default=True),
        "WIDGET_FRAME_ANCESTORS": frame_ancestors(env.get("WIDGET_FRAME_ANCESTORS")),
        "REALTIME_BACKEND": (env.get("REALTIME_BACKEND") or "auto").strip().lower(),
        "REALTIME_HEARTBEAT_SECONDS": float(env.get("REALTIME_HEARTBEAT_SECONDS") or 15),
        "REALTIME_STREAM_MAX_SECONDS": float(env.get("REALTIME_STREAM_MAX_SECONDS") or 300),
        "LOG_FORMAT": (env.get("LOG_FORMAT") or ("json" if production else "text")).strip().lower(),
        "METRICS_TOKEN": env.get("METRICS_TOKEN") or None,
        "METRICS_ALLOW_NETWORKS": env.get("METRICS_ALLOW_NETWORKS") or "127.0.0.0/8,::1",
        "TRUSTED_PROXY_COUNT": int(env.get("TRUSTED_PROXY_COUNT") or 0),
        "STAFF_SESSION_IDLE_MINUTES": float(env.get("STAFF_SESSION_IDLE_MINUTES") or 60),
        "STAFF_SESSION_MAX_HOURS": float(env.get("STAFF_SESSION_MAX_HOURS") or 12),
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "BABEL_DEFAULT_LOCALE": "de",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Berlin",
        "LANGUAGES": ["de", "en"],
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 64 * 1024,
    }
