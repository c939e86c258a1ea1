"""Start the app under a real multi-worker gunicorn with deploy/gunicorn.conf.py."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

from tests import clock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(database_url: str, instance_dir: str, workers: int = 4, app: str = "wsgi:app",
             access_log: str = "/dev/null", **env_extra):
    port = free_port()
    env = {
        **os.environ,
        "BOOKING_ENV": "production",
        "SECRET_KEY": "server-test-secret",
        "DATABASE_URL": database_url,
        "BOOKING_INSTANCE_PATH": str(instance_dir),
        "BOOKING_BASE_URL": f"http://127.0.0.1:{port}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_LOGLEVEL": "warning",
        "OUTBOX_BACKGROUND": "0",
        "MAIL_SERVER": "",
        "ANTI_ABUSE": "0",  # a test that needs a measure passes ANTI_ABUSE="1"
        **{k: str(v) for k, v in env_extra.items()},
    }
    log_path = os.path.join(str(instance_dir), f"gunicorn-{port}.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            clock.command("gunicorn", "-c", "deploy/gunicorn.conf.py",
                          "--access-logfile", str(access_log), app),
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a busy machine can take long to fork 4 workers
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                with open(log_path, encoding="utf-8", errors="replace") as fh:
                    raise RuntimeError("gunicorn did not start:\n" + fh.read())
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def post_json(url: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    """POST JSON to a running server and read the JSON answer (an empty body, e.g. 204: {})."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def flask_cli(database_url: str, tmp_path, *args: str, **env_extra: str
              ) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "BOOKING_INSTANCE_PATH": str(tmp_path),
           "OUTBOX_BACKGROUND": "0"}
    env.pop("BOOKING_ENV", None)
    env.update(env_extra)
    return subprocess.run(clock.command("flask", "--app", "wsgi", *args), cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def run_sql(database_url: str, *statements: str, query: str | None = None):
    """Run SQL statements on the database in one transaction, outside the app (a
    migration test's rows at an old revision); returns the rows of ``query`` if given."""
    from sqlalchemy import create_engine, text

    from booking.config import normalise_database_url

    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
            return conn.execute(text(query)).all() if query else None
    finally:
        engine.dispose()
