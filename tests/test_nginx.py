"""deploy/nginx/buergerbuero.conf under a real nginx in front of a real gunicorn.

The site file is used as shipped; only what every installation replaces is replaced
(the app servers' addresses, the listening ports, the certificate and log paths). It
must pass ``nginx -t``, redirect HTTP to HTTPS, stream server-sent events through
unbuffered (a call reaches an open display stream while it is open), rate-limit writes
per client, keep manage tokens out of its access log, and microcache the public listings
of free times for a second, never for a visitor with a session or a token.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from booking.accounts.models import User
from booking.accounts.operations import create_user, issue_api_token
from booking.db import utcnow
from booking.offices.models import Counter
from tests.factories import local_iso, next_workday
from tests.server import ROOT, free_port, gunicorn

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HOST = "termine.example-stadt.de"


def site_config(upstream_port: int, http_port: int, https_port: int, tmp) -> str:
    with open(os.path.join(ROOT, "deploy", "nginx", "buergerbuero.conf"), encoding="utf-8") as fh:
        conf = fh.read()
    servers = re.findall(r"^\s*server 10\.0\.0\.\d+:8000[^;\n]*;\n", conf, flags=re.M)
    assert len(servers) >= 2, "the shipped upstream lists several app servers"
    conf = conf.replace(servers[0], f"    server 127.0.0.1:{upstream_port} max_fails=3 "
                                    "fail_timeout=10s;\n")
    for line in servers[1:]:
        conf = conf.replace(line, "")
    replacements = {
        "    listen 80;\n": f"    listen 127.0.0.1:{http_port};\n",
        "    listen [::]:80;\n": "",
        "    listen 443 ssl http2;\n": f"    listen 127.0.0.1:{https_port} ssl http2;\n",
        "    listen [::]:443 ssl http2;\n": "",
        f"/etc/ssl/certs/{HOST}.fullchain.pem": str(tmp / "cert.pem"),
        f"/etc/ssl/private/{HOST}.key.pem": str(tmp / "key.pem"),
        "/var/log/nginx/buergerbuero.access.log": str(tmp / "access.log"),
        "/var/log/nginx/buergerbuero.error.log": str(tmp / "error.log"),
        "/var/cache/nginx/buergerbuero": str(tmp / "cache"),
    }
    for old, new in replacements.items():
        assert old in conf, old
        conf = conf.replace(old, new)
    return conf


def main_config(tmp) -> str:
    temp = {name: tmp / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    return "\n".join([
        "user root;" if os.geteuid() == 0 else "",
        "daemon off;",
        "worker_processes 1;",
        f"pid {tmp / 'nginx.pid'};",
        f"error_log {tmp / 'main-error.log'} warn;",
        "events { worker_connections 256; }",
        "http {",
        "    include /etc/nginx/mime.types;",
        f"    client_body_temp_path {temp['body']};",
        f"    proxy_temp_path {temp['proxy']};",
        f"    fastcgi_temp_path {temp['fastcgi']};",
        f"    uwsgi_temp_path {temp['uwsgi']};",
        f"    scgi_temp_path {temp['scgi']};",
        f"    access_log {tmp / 'main-access.log'};",
        f"    include {tmp / 'site.conf'};",
        "}",
        "",
    ])


def make_certificate(tmp) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={HOST}", "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")],
        check=True, capture_output=True)


class Nginx:
    def __init__(self, tmp, upstream_port: int):
        self.tmp = tmp
        self.http_port, self.https_port = free_port(), free_port()
        make_certificate(tmp)
        (tmp / "site.conf").write_text(site_config(upstream_port, self.http_port,
                                                   self.https_port, tmp))
        self.conf = tmp / "nginx.conf"
        self.conf.write_text(main_config(tmp))
        self.proc: subprocess.Popen | None = None

    def check(self) -> subprocess.CompletedProcess:
        return subprocess.run([NGINX, "-t", "-c", str(self.conf), "-p", str(self.tmp)],
                              capture_output=True, text=True)

    def start(self) -> None:
        with open(self.tmp / "stderr.log", "wb") as err:
            self.proc = subprocess.Popen([NGINX, "-c", str(self.conf), "-p", str(self.tmp)],
                                         stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status, _, _ = self.request("GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("nginx did not start: " + (self.tmp / "stderr.log").read_text())
            time.sleep(0.2)
        raise RuntimeError("nginx did not answer /healthz")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)

    def connection(self, timeout: float = 20,
                   source: str | None = None) -> http.client.HTTPSConnection:
        """A connection from ``source`` (another loopback address: another client)."""
        context = ssl.create_default_context(cafile=str(self.tmp / "cert.pem"))
        context.check_hostname = False  # the certificate is for HOST, we connect to 127.0.0.1
        return http.client.HTTPSConnection("127.0.0.1", self.https_port, timeout=timeout,
                                           context=context,
                                           source_address=(source, 0) if source else None)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None, source: str | None = None
                ) -> tuple[int, dict, bytes]:
        conn = self.connection(source=source)
        try:
            conn.request(method, path, body, {"Host": HOST, **(headers or {})})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()


@pytest.fixture
def proxied(ctx, floor, database_url, instance_dir, tmp_path, db_kind):
    """gunicorn behind nginx with the shipped site file; a clerk's token. Two workers on
    PostgreSQL (events cross workers through NOTIFY); one on SQLite, whose events stay in
    their process."""
    user = create_user("clerk@example.org", "correct horse battery", "clerk", ["amt"], utcnow())
    ctx.flush()
    token = issue_api_token(ctx.get(User, user.id), utcnow())
    ctx.commit()
    with gunicorn(database_url, instance_dir, workers=2 if db_kind == "postgresql" else 1,
                  app="tests.counted_wsgi:app", REQUEST_LOG=str(tmp_path / "app-requests.log"),
                  access_log=tmp_path / "app-access.log",
                  TRUSTED_PROXY_COUNT="1",  # as deploy/systemd/env.example says
                  REALTIME_STREAM_MAX_SECONDS="120", REALTIME_HEARTBEAT_SECONDS="1") as base:
        server = Nginx(tmp_path, int(base.rsplit(":", 1)[1]))
        assert server.check().returncode == 0, server.check().stderr
        server.start()
        try:
            yield server, {"Authorization": f"Bearer {token}"}
        finally:
            server.stop()


def test_the_shipped_site_passes_nginx_t(tmp_path):
    server = Nginx(tmp_path, 8000)
    result = server.check()
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


@pytest.mark.server
def test_http_redirects_to_https(proxied):
    server, _ = proxied
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
    conn.request("GET", "/offices/amt/display?x=1", headers={"Host": HOST})
    response = conn.getresponse()
    assert response.status == 301
    assert response.getheader("Location") == f"https://{HOST}/offices/amt/display?x=1"
    conn.close()


@pytest.mark.server
def test_a_call_reaches_an_open_display_stream_through_nginx(proxied, ctx):
    """With buffering on, nginx would hold the small event chunks back until the stream
    ends (two minutes here); the call must arrive while the stream is open."""
    server, staff = proxied
    counter_id = ctx.query(Counter.id).filter(Counter.name == "1").scalar()
    ctx.rollback()
    stream = server.connection(timeout=20)
    try:
        stream.request("GET", "/offices/amt/display/events", headers={"Host": HOST})
        response = stream.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type").startswith("text/event-stream")
        assert response.getheader("Content-Encoding") is None
        assert response.readline().startswith(b"retry:")  # the first event arrived at once

        status, _, body = server.request("POST", "/api/v1/offices/amt/tickets",
                                         json.dumps({"service": "pass"}).encode(),
                                         {"Content-Type": "application/json"})
        assert status == 201, body
        number = json.loads(body)["number"]
        status, _, body = server.request("POST", f"/api/v1/counters/{counter_id}/call-next",
                                         b"{}", {"Content-Type": "application/json", **staff})
        assert status == 200, body
        seen = ""
        while f'data-newest="{number}@Schalter 1@' not in seen:
            line = response.readline().decode()  # raises TimeoutError if nginx buffers
            assert line, "the stream ended before the call arrived"
            seen += line
    finally:
        stream.close()


@pytest.mark.server
def test_writes_are_rate_limited_per_client(proxied):
    server, _ = proxied
    statuses = [server.request("POST", "/api/v1/appointments", b"[]",
                               {"Content-Type": "application/json"})[0] for _ in range(9)]
    assert statuses[0] == 400  # the app's answer to a body that is not an object
    assert 429 in statuses  # 20 per minute with a burst of 5: the later ones are refused
    assert statuses.index(429) >= 5
    # reading is not limited by the write zone
    assert [server.request("GET", "/api/v1/services")[0] for _ in range(9)] == [200] * 9


def written(path, marker: str) -> str:
    """The log at ``path`` once ``marker`` is in it (servers write after the response)."""
    log = ""
    for _ in range(50):
        log = path.read_text() if path.exists() else ""
        if marker in log:
            break
        time.sleep(0.1)
    return log


@pytest.mark.server
def test_manage_tokens_stay_out_of_the_access_logs(proxied):
    """nginx's and gunicorn's: also for the spellings the app routes to the same page; and
    no query string (the clerk's schedule is searched by a citizen's name)."""
    server, _ = proxied
    for path in ("/manage/ABCD2345/s3cr3t-token-value/cancel", "/%6Danage/ABCD2345/s3cr3t-t1",
                 "//manage/ABCD2345/s3cr3t-t2", "/manage/ABCD2345//s3cr3t-t3/move",
                 "/manage%2FABCD2345%2Fs3cr3t-t4", "/staff/offices/amt/schedule?q=Erika%20Muster",
                 "/staff/feed/another-secret-token.ics"):
        server.request("GET", path)
    for log in (written(server.tmp / "access.log", "/staff/feed/"),
                written(server.tmp / "app-access.log", "/staff/feed/")):
        assert "/manage/ABCD2345/***/cancel" in log
        assert "/staff/feed/***.ics" in log
        assert "s3cr3t" not in log and "another-secret-token" not in log, log
        assert "/staff/offices/amt/schedule " in log and "Muster" not in log, log


@pytest.mark.server
def test_metrics_are_not_served_through_the_public_site(proxied):
    """Prometheus scrapes the app servers directly; nginx never passes /metrics on, not
    even from its own host (whose address the app's default allow-list trusts)."""
    server, _ = proxied
    for source in ("127.0.0.1", "127.0.0.2"):
        status, _, body = server.request("GET", "/metrics", source=source)
        assert status == 404 and b"booking_" not in body
    log_path = server.tmp / "app-requests.log"
    passed = log_path.read_text(encoding="utf-8") if log_path.exists() else ""
    assert "/metrics" not in passed


@pytest.mark.server
def test_the_app_sees_the_real_client_behind_nginx(proxied):
    """Each client is itself, whatever X-Forwarded-For it sends: in the app's access log,
    and in the login throttle (five failures lock out that client, not the account)."""
    server, _ = proxied
    status, _, _ = server.request("GET", "/privacy", source="127.0.0.2",
                                  headers={"X-Forwarded-For": "203.0.113.9"})
    assert status == 200
    log = written(server.tmp / "app-access.log", "/privacy")
    assert log.splitlines()[-1].startswith("127.0.0.2 ") and "203.0.113.9" not in log

    def login(source: str, password: str) -> tuple[int, str]:
        _, headers, body = server.request("GET", "/login", source=source)
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body).group(1).decode()
        form = f"csrf_token={token}&email=clerk%40example.org&password={password}"
        status, _, body = server.request("POST", "/login", form.encode(), {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": headers["Set-Cookie"].split(";")[0], "Referer": f"https://{HOST}/login",
            # a client cannot pose as another one: nginx overwrites this
            "X-Forwarded-For": "127.0.0.3"}, source=source)
        return status, body.decode()

    for _ in range(5):
        assert login("127.0.0.2", "wrong+password!")[0] == 401
    status, page = login("127.0.0.2", "correct+horse+battery")
    assert status == 429 and 'name="password"' in page  # the app's login page, not nginx's
    assert login("127.0.0.3", "correct+horse+battery")[0] == 303  # the owner gets in


@pytest.mark.server
def test_gunicorn_without_a_trusted_proxy_logs_the_peer(ctx, database_url, instance_dir,
                                                      tmp_path):
    """TRUSTED_PROXY_COUNT unset: X-Forwarded-For is anybody's claim and is ignored."""
    log_path = tmp_path / "access.log"
    with gunicorn(database_url, instance_dir, workers=1, access_log=log_path) as base:
        request = urllib.request.Request(base + "/privacy",
                                         headers={"X-Forwarded-For": "203.0.113.9"})
        with urllib.request.urlopen(request, timeout=20) as response:
            assert response.status == 200
        log = written(log_path, "/privacy")
    assert log.splitlines()[-1].startswith("127.0.0.1 ") and "203.0.113.9" not in log


# ---------------------------------------------------------------- microcache

DAY = next_workday()


def listing(day=DAY, service="pass") -> str:
    return f"/api/v1/offices/amt/services/{service}/slots?from={day}&to={day}"


def app_requests(server, method: str, path: str) -> int:
    """How many ``method path`` requests reached the app (tests/counted_wsgi.py)."""
    log = server.tmp / "app-requests.log"
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return lines.count(f"{method} {path.split('?')[0]}")


@pytest.mark.server
def test_public_listings_are_served_from_the_microcache(proxied):
    server, _ = proxied
    calendar = f"/offices/amt/services/pass/?month={DAY:%Y-%m}&day={DAY}"
    cases = [(listing(), {}), ("/offices/amt/services/pass/slots.ics", {}),
             (calendar, {}), (calendar, {"HX-Request": "true"})]
    for path, headers in cases:
        _, first, body = server.request("GET", path, headers=headers)
        status, again, cached = server.request("GET", path, headers=headers)
        assert status == 200, path
        assert (first["X-Cache-Status"], again["X-Cache-Status"]) == ("MISS", "HIT"), path
        assert cached == body and again["ETag"] == first["ETag"], path
        assert again["Cache-Control"] == "public, max-age=1" and "Set-Cookie" not in again
        # nginx answers a conditional request from the cache as well
        status, _, empty = server.request("GET", path,
                                          headers={**headers, "If-None-Match": first["ETag"]})
        assert (status, empty) == (304, b""), path
    # the page and its htmx fragment are kept apart (HX-Request is part of the key)
    page = server.request("GET", calendar)[2]
    assert b"<html" in page
    assert b"<html" not in server.request("GET", calendar, headers={"HX-Request": "true"})[2]
    assert app_requests(server, "GET", calendar) == 2
    assert app_requests(server, "GET", listing()) == 1


@pytest.mark.server
def test_the_live_feed_is_served_from_the_microcache(proxied):
    """The status feed and the widget: kept for five seconds, CORS and frame headers
    kept with them."""
    server, _ = proxied
    for path in ("/api/v1/offices/amt/status", "/api/v1/status",
                 "/widget/offices/amt/status?lang=en", "/widget/status"):
        _, first, body = server.request("GET", path)
        status, again, cached = server.request("GET", path)
        assert status == 200, path
        assert (first["X-Cache-Status"], again["X-Cache-Status"]) == ("MISS", "HIT"), path
        assert cached == body and again["ETag"] == first["ETag"], path
        assert again["Cache-Control"] == "public, max-age=5" and "Set-Cookie" not in again
        status, _, empty = server.request("GET", path, headers={"If-None-Match": first["ETag"]})
        assert (status, empty) == (304, b""), path
        assert app_requests(server, "GET", path) == 1, path
    assert again["Content-Security-Policy"].count("frame-ancestors *") == 1
    api = server.request("GET", "/api/v1/offices/amt/status")[1]
    assert api["Access-Control-Allow-Origin"] == "*"


@pytest.mark.server
def test_a_new_booking_shows_after_the_second_has_passed(proxied):
    server, _ = proxied
    start = local_iso(DAY, 9)
    before = {s["start"]: s["available"] for s in json.loads(server.request("GET", listing())[2])}
    status, _, body = server.request("POST", "/api/v1/appointments", json.dumps({
        "office": "amt", "service": "pass", "start": start, "name": "Erika Mustermann",
        "email": "erika@example.org"}).encode(), {"Content-Type": "application/json"})
    assert status == 201, body
    # nginx counts whole seconds: an entry stored at x.9 s lives until x+2 s
    time.sleep(2.1)
    _, headers, body = server.request("GET", listing())
    assert headers["X-Cache-Status"] in ("EXPIRED", "MISS")
    after = {s["start"]: s["available"] for s in json.loads(body)}
    assert after.get(start, 0) == before[start] - 1


@pytest.mark.server
def test_concurrent_requests_for_a_cold_listing_reach_the_app_once(proxied):
    server, _ = proxied
    server.request("GET", listing(service="melde"))  # the app is warm, this listing is cold
    path = "/api/v1/offices/amt/services/pass/slots"  # the whole horizon: takes a while
    barrier = threading.Barrier(8)

    def fetch(_):
        barrier.wait()
        return server.request("GET", path)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(fetch, range(8)))
    assert [status for status, _, _ in answers] == [200] * 8
    assert len({body for _, _, body in answers}) == 1
    assert [headers["X-Cache-Status"] for _, headers, _ in answers].count("MISS") == 1
    assert app_requests(server, "GET", path) == 1  # proxy_cache_lock: the others waited


@pytest.mark.server
def test_no_cache_for_a_session_or_a_token(proxied):
    server, staff = proxied
    calendar = f"/offices/amt/services/pass/?month={DAY:%Y-%m}&day={DAY}"
    _, headers, _ = server.request("GET", calendar + "&lang=en")  # English, remembered
    cookie = headers["Set-Cookie"].split(";")[0]
    assert cookie.startswith("session=")
    english = {"Cookie": cookie}
    for path, personal in [(calendar, english), (listing(), staff)]:
        # neither served from nor stored in the cache
        _, headers, body = server.request("GET", path, headers=personal)
        assert headers["X-Cache-Status"] == "BYPASS", path
        assert server.request("GET", path)[1]["X-Cache-Status"] == "MISS", path
        _, headers, _ = server.request("GET", path)
        assert headers["X-Cache-Status"] == "HIT", path
        _, headers, again = server.request("GET", path, headers=personal)
        assert headers["X-Cache-Status"] == "BYPASS" and again == body, path
    assert b'<html lang="en">' in server.request("GET", calendar, headers=english)[2]
    assert b'<html lang="de">' in server.request("GET", calendar)[2]  # the cached copy
    assert app_requests(server, "GET", listing()) == 3


@pytest.mark.server
def test_posts_and_other_pages_are_never_cached(proxied):
    server, _ = proxied
    booking = json.dumps({"office": "amt", "service": "pass", "start": local_iso(DAY, 10),
                          "name": "Erika Mustermann", "email": "erika@example.org"}).encode()
    json_body = {"Content-Type": "application/json"}
    answers = [server.request("POST", "/api/v1/appointments", booking, json_body)
               for _ in range(2)]
    assert [status for status, _, _ in answers] == [201, 201]  # two seats, two bookings
    assert json.loads(answers[0][2])["code"] != json.loads(answers[1][2])["code"]
    assert app_requests(server, "POST", "/api/v1/appointments") == 2
    for _ in range(2):  # a POST to a cached URL goes to the app (which refuses it)
        status, headers, _ = server.request("POST", listing(), b"{}", json_body)
        assert status == 405 and headers.get("X-Cache-Status") in (None, "")
    assert app_requests(server, "POST", listing()) == 2
    for _ in range(2):
        status, headers, _ = server.request("GET", "/api/v1/services")
        assert status == 200 and "X-Cache-Status" not in headers
    assert app_requests(server, "GET", "/api/v1/services") == 2
