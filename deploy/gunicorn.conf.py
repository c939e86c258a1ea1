"""Gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

Every value can be overridden from the environment (see deploy/systemd/env.example).
"""

import gc
import multiprocessing
import os

# Set before the app is imported: production mode turns on the safety checks
# (the app refuses to start without SECRET_KEY, cookies become Secure).
os.environ.setdefault("BOOKING_ENV", "production")

# Metrics (booking.metrics): every worker writes its counters to files in this folder
# and a scrape of /metrics by any worker adds up all of them. It must be set before
# prometheus_client is first imported (the workers import the app after the fork);
# the master empties it at start (on_starting), and a worker that exits takes its open
# event streams with it (child_exit). Without PROMETHEUS_MULTIPROC_DIR a private
# temporary folder is used (PrivateTmp under systemd); a reload (HUP) keeps the folder.
_own_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import tempfile

    _own_metrics_dir = tempfile.mkdtemp(prefix="buergerbuero-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _own_metrics_dir

# The app writes one JSON line per request (booking.logs, LOG_FORMAT=json, the default
# in production), with the request id; gunicorn's own access log would repeat it. With
# LOG_FORMAT=text the access log is on by default; GUNICORN_ACCESSLOG ("-": stdout, or a
# file) turns it on in either case.
_log_format = os.environ.get("LOG_FORMAT", "json").strip().lower()

from gunicorn.glogging import Logger  # noqa: E402

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1))

# gevent: every request and every open event stream (waiting-room displays, ticket
# and counter pages) is a greenlet, so a thousand open streams cost memory, not
# threads, and never starve the other requests. psycopg 3 waits cooperatively under
# gevent (booking.realtime.cooperative makes sure of it), so a slow query or the
# realtime LISTEN wait lets other greenlets run. A stream holds no DB connection
# between events; requests take one from SQLAlchemy's pool (DATABASE_POOL_SIZE,
# DATABASE_MAX_OVERFLOW) only while they run.
# GUNICORN_WORKER_CLASS=gthread (with GUNICORN_THREADS) remains possible, but then
# every open stream occupies one of the threads.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", 2000))
threads = int(os.environ.get("GUNICORN_THREADS", 4))  # gthread only

timeout = 30
graceful_timeout = 20  # in-flight bookings finish on restart; systemd waits longer
keepalive = 5  # nginx's upstream keepalive_timeout must stay below this

# Only the reverse proxy may claim the request was HTTPS (X-Forwarded-Proto);
# set this to nginx's address when nginx runs on another host. The client's address
# (X-Forwarded-For) is taken by the app itself, from TRUSTED_PROXY_COUNT proxies only
# (Werkzeug's ProxyFix, see booking/config.py); the access log shows what it decided.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

# Recycle workers now and then so a slow leak never grows unbounded; the
# jitter keeps all workers from restarting at the same moment.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", 200))

# systemd (or the container runtime) sends the signals; gunicorn's control socket
# would only try to write below $HOME, which is read-only in the systemd unit.
control_socket_disable = True

# stdout/stderr end up in the journal (systemd) or the container log.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or ("-" if _log_format == "text" else None)
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'

# Manage links carry a secret token in the path (/manage/<code>/<token>/...);
# whoever can read the logs must not be able to cancel appointments.


class TokenMaskingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        from booking.log_masking import mask_secrets

        atoms = super().atoms(resp, req, environ, request_time)
        # "h" is REMOTE_ADDR: the client's address when the app trusts a proxy in front
        # (TRUSTED_PROXY_COUNT; ProxyFix rewrote it), else the peer's. Never a header
        # anybody could send.
        for key in ("r", "U", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = mask_secrets(atoms[key])
        return atoms


logger_class = TokenMaskingLogger


def _find_flask_app(obj):
    # Middleware such as ProxyFix keeps the wrapped app in ``.app``.
    from flask import Flask

    for _ in range(5):
        if isinstance(obj, Flask):
            return obj
        obj = getattr(obj, "app", None)
    return None


def post_worker_init(worker):
    # gevent has patched this worker by now. psycopg normally notices that when it is
    # first imported; if it was imported earlier (preload_app, a hook), switch its
    # waits to gevent's here, or one slow query would stall every greenlet.
    from booking.realtime.cooperative import make_psycopg_cooperative

    if make_psycopg_cooperative():
        worker.log.info("psycopg switched to gevent-cooperative waits")

    # Each worker sends due emails from the outbox itself, so mail leaves within
    # seconds without a separate process; rows are claimed with SKIP LOCKED,
    # so any number of workers and servers can do this at once.
    from booking.notifications.outbox import sender

    app = _find_flask_app(worker.wsgi)
    if app is None:  # gunicorn's error app after a failed load, or unknown wrapping
        try:
            import wsgi

            app = _find_flask_app(wsgi.app)
        except Exception:
            app = None
    if app is None:
        worker.log.error("outbox sender not started: no Flask app found in wsgi:app")
        return
    if app.config.get("OUTBOX_BACKGROUND"):  # OUTBOX_BACKGROUND=0: cron sends instead
        sender.start(app)

    # The app, SQLAlchemy's mappers and the libraries live as long as the worker: take
    # them out of the garbage collector's passes, which otherwise walk them again and
    # again while requests allocate (CPython's advice for pre-forking servers).
    gc.freeze()



def on_starting(server):
    # a fresh start: counts of an earlier run (a crash, a restart) would be added up again
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


def child_exit(server, worker):
    # the worker's counts stay (they happened); its live gauges (open event streams) go
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir and os.environ.get("PROMETHEUS_MULTIPROC_DIR") == _own_metrics_dir:
        import shutil

        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
