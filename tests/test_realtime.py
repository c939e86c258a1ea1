"""booking.realtime with real parts: the suite's database, a real LISTEN connection, a real
gunicorn with gevent workers (deploy/gunicorn.conf.py) serving a test-only blueprint.

Tests of the PostgreSQL listener itself (reconnect, fan-out to other processes) need
PostgreSQL; in a ``--db sqlite`` run they use a scratch PostgreSQL database of their own.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request

import psycopg
import pytest

from booking import realtime
from booking.config import normalise_database_url
from booking.db import db
from booking.realtime import Event
from tests.factories import scratch_postgres_database
from tests.realtime_app import register
from tests.server import gunicorn

WAIT = 30  # generous: only ever reached when something is broken


# ---------------------------------------------------------------- fixtures and helpers

@pytest.fixture(scope="module")
def pg_url(db_kind, database_url):
    """The suite's PostgreSQL database, or a scratch one in a SQLite run."""
    if db_kind == "postgresql":
        yield database_url
        return
    with scratch_postgres_database("booking_rt") as url:
        yield url


def _make_app(app_config, **overrides):
    from booking import create_app

    return register(create_app({**app_config, **overrides}))


def _dispose(app):
    app.extensions["realtime"].stop()
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(scope="module")
def pg_app(app_config, pg_url):
    pg = _make_app(app_config, SQLALCHEMY_DATABASE_URI=normalise_database_url(pg_url))
    yield pg
    _dispose(pg)


@pytest.fixture(scope="module")
def sse_app(app, app_config):
    """The suite's database, short heartbeats and stream lifetimes, the test blueprint."""
    sse = _make_app(app_config, REALTIME_HEARTBEAT_SECONDS=0.1, REALTIME_STREAM_MAX_SECONDS=2)
    yield sse
    _dispose(sse)


def parse_sse(text: str) -> list[dict]:
    """Messages as dicts (``comment`` for ``: …`` lines), following the EventSource rules."""
    messages = []
    for block in text.split("\n\n"):
        if not block:
            continue
        msg: dict = {}
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "":
                msg["comment"] = value
            elif field == "data":
                msg["data"] = msg["data"] + "\n" + value if "data" in msg else value
            else:
                msg[field] = value
        messages.append(msg)
    return messages


def events(messages: list[dict]) -> list[tuple[str, str]]:
    return [(m.get("event", "message"), m["data"]) for m in messages if "data" in m]


def subscriber_count(app) -> int:
    return app.extensions["realtime"].hub.subscriber_count()


# ---------------------------------------------------------------- publish / subscribe

def test_an_event_committed_reaches_the_subscriber(ctx):
    with realtime.subscribe(["office:amt"]) as sub:
        realtime.publish("office:amt", {"ticket": 17, "name": "Jürgen"})
        assert sub.get(timeout=0) is None  # not before the commit
        ctx.commit()
        assert sub.get(timeout=WAIT) == Event("office:amt", {"ticket": 17, "name": "Jürgen"})


def test_rolled_back_or_closed_transactions_send_nothing(ctx):
    with realtime.subscribe(["office:amt"]) as sub:
        realtime.publish("office:amt", {"n": "rolled back"})
        ctx.rollback()
        realtime.publish("office:amt", {"n": "closed"})
        ctx.close()
        realtime.publish("office:amt", {"n": "committed"})
        ctx.commit()
        # events arrive in commit order, so anything lost would have come first
        assert sub.get(timeout=WAIT) == Event("office:amt", {"n": "committed"})
        assert sub.get(timeout=0) is None


def test_a_rolled_back_savepoint_drops_only_its_own_events(ctx):
    class Refused(Exception):
        pass

    with realtime.subscribe(["office:amt"]) as sub:
        realtime.publish("office:amt", {"n": 1})
        with pytest.raises(Refused):
            with ctx.begin_nested():
                realtime.publish("office:amt", {"n": 2})
                with ctx.begin_nested():
                    realtime.publish("office:amt", {"n": 3})
                raise Refused
        with ctx.begin_nested():
            realtime.publish("office:amt", {"n": 4})
        assert sub.get(timeout=0) is None  # a released savepoint is no commit
        ctx.commit()
        assert [sub.get(timeout=WAIT).data["n"] for _ in range(2)] == [1, 4]
        assert sub.get(timeout=0) is None


def test_subscribers_get_only_their_channels(ctx):
    with realtime.subscribe(["counter:1", "counter:2"]) as both, \
            realtime.subscribe(["counter:2"]) as two:
        for channel in ("counter:3", "counter:1", "counter:2"):
            realtime.publish(channel, {"channel": channel})
        ctx.commit()
        assert [both.get(timeout=WAIT).channel for _ in range(2)] == ["counter:1", "counter:2"]
        assert two.get(timeout=WAIT).channel == "counter:2"
        assert both.get(timeout=0) is None and two.get(timeout=0) is None


def test_payload_limit_is_that_of_notify(ctx):
    def data_of_size(size: int) -> dict:  # the encoded payload will have exactly `size` bytes
        empty = len(json.dumps({"channel": "big", "data": {"t": ""}}, separators=(",", ":")))
        return {"t": "ä" * ((size - empty) // 2) + "x" * ((size - empty) % 2)}

    with realtime.subscribe(["big"]) as sub:
        with pytest.raises(ValueError, match="too large"):
            realtime.publish("big", data_of_size(8000))
        with pytest.raises(TypeError):
            realtime.publish("big", {"when": object()})
        with pytest.raises(ValueError):
            realtime.publish("", {})
        realtime.publish("big", data_of_size(7999))
        ctx.commit()
        assert sub.get(timeout=WAIT).data == data_of_size(7999)
        assert sub.get(timeout=0) is None


def test_a_slow_subscriber_is_resynced_and_holds_up_nobody(ctx, domain_app, monkeypatch):
    monkeypatch.setitem(domain_app.config, "REALTIME_QUEUE_SIZE", 3)
    with realtime.subscribe(["office:amt"]) as slow:
        monkeypatch.setitem(domain_app.config, "REALTIME_QUEUE_SIZE", 100)
        with realtime.subscribe(["office:amt"]) as fast:
            for n in range(10):
                realtime.publish("office:amt", {"n": n})
            ctx.commit()
            assert [fast.get(timeout=WAIT).data["n"] for _ in range(10)] == list(range(10))
            first = slow.get(timeout=WAIT)
            assert first.resync and first.channel == "" and first.data == {}
            assert slow.get(timeout=0) is None  # the resync replaced what it could not hold
            realtime.publish("office:amt", {"n": 10})
            ctx.commit()
            assert slow.get(timeout=WAIT) == Event("office:amt", {"n": 10})
            assert fast.get(timeout=WAIT) == Event("office:amt", {"n": 10})


# ---------------------------------------------------------------- the PostgreSQL listener

def test_listener_reconnects_and_resyncs_subscribers(pg_app):
    with pg_app.app_context(), realtime.subscribe(["office:amt"]) as sub:
        listener = realtime.backend().listener
        old_pid = listener.backend_pid
        assert old_pid is not None  # subscribe() waited until LISTEN was in place
        with psycopg.connect(pg_app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", ""),
                             autocommit=True) as admin:
            assert admin.execute("select pg_terminate_backend(%s)", [old_pid]).fetchone()[0]
        ev = sub.get(timeout=WAIT)
        assert ev is not None and ev.resync
        assert listener.backend_pid not in (None, old_pid)
        realtime.publish("office:amt", {"after": "reconnect"})
        db.session.commit()
        assert sub.get(timeout=WAIT) == Event("office:amt", {"after": "reconnect"})


def test_a_subscriber_that_joins_while_the_database_is_away_gets_a_resync(pg_app, monkeypatch):
    with pg_app.app_context():
        listener = realtime.backend().listener
        listener.ensure_started()
        listener.stop()  # like a lost connection: nobody is listening now
        monkeypatch.setitem(pg_app.config, "REALTIME_SUBSCRIBE_WAIT_SECONDS", 0)
        with realtime.subscribe(["office:amt"]) as sub:  # restarts the listener, doesn't wait
            ev = sub.get(timeout=WAIT)
            assert ev is not None and ev.resync  # once LISTEN is back, state must be re-read
            realtime.publish("office:amt", {"n": 1})
            db.session.commit()
            assert sub.get(timeout=WAIT) == Event("office:amt", {"n": 1})


def test_reconnect_delays_double_up_to_a_cap():
    from booking.realtime.postgres import BACKOFF_MAX, BACKOFF_START, reconnect_delay

    delays = [reconnect_delay(n) for n in range(1, 12)]
    assert delays[:4] == [BACKOFF_START, 2 * BACKOFF_START, 4 * BACKOFF_START, 8 * BACKOFF_START]
    assert delays == sorted(delays) and delays[-1] == BACKOFF_MAX
    assert reconnect_delay(10**6) == BACKOFF_MAX  # no overflow in a long outage

    def attempts_within(seconds: float) -> int:
        attempts, waited = 0, 0.0
        while waited <= seconds:
            attempts += 1
            waited += reconnect_delay(attempts)
        return attempts

    # a ten-minute outage: 25 reconnects (and re-renders at most), not 1,200
    assert attempts_within(600) == 25


@pytest.fixture
def lone_listener():
    """Make a PostgresListener of its own (fast back-off) with one subscriber."""
    from booking.realtime.bus import Subscription
    from booking.realtime.postgres import PostgresListener

    made = []

    def make(conninfo: str, **backoff) -> tuple[PostgresListener, Subscription]:
        listener = PostgresListener(conninfo, **backoff)
        made.append(listener)
        hub = listener.hub
        sub = Subscription(hub, ["office:amt"], 16)
        hub.add(sub)
        hub.mark_ready(sub)
        return listener, sub

    yield make
    for listener in made:
        listener.stop()


def _terminate_each_connection(listener, pg_url: str, times: int) -> list[int]:
    """Terminate the listener's connection as soon as it is back, ``times`` times;
    returns its failure count after each."""
    seen, counts = set(), []
    with psycopg.connect(pg_url, autocommit=True) as admin:
        for n in range(1, times + 1):
            wait_until(lambda: listener.backend_pid not in (None, *seen), "a new LISTEN")
            seen.add(listener.backend_pid)
            admin.execute("select pg_terminate_backend(%s)", [listener.backend_pid])
            wait_until(lambda n=n: listener.failures >= n or listener.backend_pid not in seen,
                       "the listener to notice")
            counts.append(listener.failures)
    return counts


def test_a_connection_dropped_right_after_connecting_backs_off_further(pg_url, lone_listener):
    """Backends terminated again and again (a database restarting): each reconnect makes
    every stream re-render, so they must thin out instead of coming every 0.5 s."""
    listener, sub = lone_listener(pg_url, backoff_start=0.01, stable_seconds=3600)
    assert _terminate_each_connection(listener, pg_url, 5) == [1, 2, 3, 4, 5]


def test_a_connection_that_held_resets_the_back_off(pg_url, lone_listener):
    listener, sub = lone_listener(pg_url, backoff_start=0.01, stable_seconds=0)
    assert _terminate_each_connection(listener, pg_url, 3) == [1, 1, 1]


def test_failed_connection_attempts_do_not_make_streams_re_render(lone_listener):
    from tests.server import free_port

    listener, sub = lone_listener(f"postgresql://postgres@127.0.0.1:{free_port()}/none",
                                  backoff_start=0.01, backoff_max=0.02)
    wait_until(lambda: listener.failures >= 10, "ten failed attempts")
    assert not listener.hub.listening
    assert sub.get(timeout=0) is None  # no resync: nothing was re-rendered


# ---------------------------------------------------------------- SSE through the test client

def test_sse_stream_format_through_the_test_client(sse_app, ctx):
    engine_pool = sse_app.extensions["sqlalchemy"].engines[None].pool
    before = subscriber_count(sse_app)
    client = sse_app.test_client()
    response = client.get("/_test/streams/amt/events", buffered=False,
                          headers={"Last-Event-ID": "earlier-7", "Accept-Encoding": "gzip",
                                   "Accept-Language": "en"})
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert "Content-Encoding" not in response.headers
    assert "Content-Length" not in response.headers
    assert "Content-Security-Policy" in response.headers  # the after_request hooks ran

    chunks = iter(response.response)
    first = next(chunks).decode()
    assert first.startswith("retry: 2000\n\n")
    (init,) = parse_sse(first)[1:]
    assert init["event"] == "init"
    assert init["data"] == (  # sent although the client says it saw events already
        f'<p>amt</p>\n<p>pid {os.getpid()} select 1</p>\n<a href="/_test/streams/amt/events" lang="en">')
    assert "data: <p>amt</p>\ndata: <p>pid " in first
    # the open stream holds neither the request's connection nor the render's
    assert engine_pool.checkedout() == 0
    assert subscriber_count(sse_app) == before + 1

    realtime.publish("test:amt", {"html": "<li>A 17</li>\r\n<li>B 18</li>\r<li>\n</li>", "n": 2})
    ctx.commit()
    rest = b"".join(chunks).decode()  # until the lifetime cap ends the stream
    messages = parse_sse(first + rest)
    assert events(messages)[1:] == [
        ("update", "test:amt\n<li>A 17</li>\n<li>B 18</li>\n<li>\n</li>"),
        ("count", "2"),
    ]
    assert "data: test:amt\ndata: <li>A 17</li>\ndata: <li>B 18</li>\ndata: <li>\ndata: </li>\n" in rest
    assert {"comment": "ping"} in messages
    ids = [m["id"] for m in messages if "data" in m]
    assert len(set(ids)) == 3
    assert subscriber_count(sse_app) == before
    assert engine_pool.checkedout() == 0


def test_sse_client_going_away_unsubscribes(sse_app):
    before = subscriber_count(sse_app)
    response = sse_app.test_client().get("/_test/streams/amt/events", buffered=False)
    chunks = iter(response.response)
    assert "event: init" in next(chunks).decode()
    assert subscriber_count(sse_app) == before + 1
    response.close()  # what the WSGI server does when the client disconnects
    assert subscriber_count(sse_app) == before


# ---------------------------------------------------------------- SSE through gunicorn (gevent)

class Stream:
    """A raw event-stream reader over urllib (HTTP/1.1, chunked)."""

    def __init__(self, url: str) -> None:
        self.response = urllib.request.urlopen(
            urllib.request.Request(url, headers={"Accept": "text/event-stream",
                                                 "Accept-Encoding": "gzip"}),
            timeout=WAIT)
        self.headers = self.response.headers

    def read_message(self) -> dict | None:
        """The next message (comments included); None at the end of the stream."""
        lines = []
        while True:
            line = self.response.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line == "" and lines:
                return parse_sse("\n".join(lines) + "\n\n")[0]
            if line:
                lines.append(line)

    def next_event(self) -> dict:
        while True:
            msg = self.read_message()
            assert msg is not None, "stream ended"
            if "data" in msg:
                return msg

    def close(self) -> None:
        self.response.close()


def get_json(url: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait_until(predicate, what: str):
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.server
def test_gunicorn_stream_format_and_lifetime(app, database_url, instance_dir):
    with gunicorn(database_url, instance_dir, workers=1, app="tests.realtime_wsgi:app",
                  REALTIME_HEARTBEAT_SECONDS="0.2", REALTIME_STREAM_MAX_SECONDS="3") as base:
        stream = Stream(base + "/_test/streams/amt/events")
        assert stream.headers.get_content_type() == "text/event-stream"
        assert stream.headers["Cache-Control"] == "no-cache"
        assert stream.headers["X-Accel-Buffering"] == "no"
        assert stream.headers["Transfer-Encoding"] == "chunked"
        assert "Content-Encoding" not in stream.headers
        assert stream.read_message() == {"retry": "2000"}
        init = stream.read_message()
        assert init["event"] == "init" and init["data"].startswith("<p>amt</p>\n<p>pid ")
        assert get_json(base + "/_test/streams/amt/publish", {"html": "a\nb", "n": 1})[0] == 200
        messages = []
        while (msg := stream.read_message()) is not None:  # the lifetime cap ends it
            messages.append(msg)
        assert events(messages) == [("update", "test:amt\na\nb"), ("count", "1")]
        assert {"comment": "ping"} in messages
        stream.close()


@pytest.mark.server
def test_gunicorn_gevent_worker_serves_many_streams_and_other_requests(
        app, db_kind, database_url, instance_dir, ctx):
    # One worker: everything below shares one process, so nothing may block it.
    with gunicorn(database_url, instance_dir, workers=1, app="tests.realtime_wsgi:app",
                  REALTIME_HEARTBEAT_SECONDS="0.5") as base:
        streams = [Stream(base + "/_test/streams/amt/events") for _ in range(8)]
        for stream in streams:
            assert stream.next_event()["event"] == "init"
        assert get_json(base + "/_test/subscribers")[1]["count"] == 8
        status, body = get_json(base + "/healthz")
        assert (status, body) == (200, {"status": "ok"})

        assert get_json(base + "/_test/streams/amt/publish", {"html": "<b>1</b>", "n": 1})[0] == 200
        assert get_json(base + "/_test/streams/amt/publish", {"n": 2, "fail": True})[0] == 409
        assert get_json(base + "/_test/streams/amt/publish", {"html": "<b>3</b>", "n": 3})[0] == 200
        for stream in streams:
            assert (stream.next_event()["data"], stream.next_event()["data"]) == ("test:amt\n<b>1</b>", "1")
            assert (stream.next_event()["data"], stream.next_event()["data"]) == ("test:amt\n<b>3</b>", "3")

        if db_kind == "postgresql":
            # A query waiting in PostgreSQL must not block the worker's other greenlets.
            key = 4711
            with psycopg.connect(database_url, autocommit=True) as holder:
                holder.execute("select pg_advisory_lock(%s)", [key])
                result = {}
                waiter = threading.Thread(target=lambda: result.update(
                    reply=get_json(f"{base}/_test/advisory-lock/{key}")))
                waiter.start()
                wait_until(lambda: holder.execute(
                    "select count(*) from pg_locks where locktype = 'advisory' and not granted"
                ).fetchone()[0] == 1, "the request to wait for the lock")
                assert get_json(base + "/healthz") == (200, {"status": "ok"})
                realtime.publish("test:amt", {"n": 4})  # from this process, to the worker
                ctx.commit()
                for stream in streams:
                    assert stream.next_event()["data"] == "test:amt\n"
                    assert stream.next_event()["data"] == "4"
                assert not result  # still waiting for the lock
                holder.execute("select pg_advisory_unlock(%s)", [key])
                waiter.join(WAIT)
            assert result["reply"][0] == 200 and result["reply"][1]["backend"] == "postgres"

        for stream in streams:
            stream.close()
        wait_until(lambda: get_json(base + "/_test/subscribers")[1]["count"] == 0,
                   "the server to notice the closed streams")


@pytest.mark.server
def test_postgres_events_reach_streams_in_other_processes(pg_app, pg_url, instance_dir):
    """Publish from this process with a real commit; gunicorn workers stream it."""
    with gunicorn(pg_url, instance_dir, workers=3, app="tests.realtime_wsgi:app",
                  REALTIME_HEARTBEAT_SECONDS="0.5") as base:
        streams = [Stream(base + "/_test/streams/amt/events") for _ in range(6)]
        worker_pids = set()
        for stream in streams:
            init = stream.next_event()
            worker_pids.add(init["data"].split("pid ")[1].split()[0])
        assert str(os.getpid()) not in worker_pids

        with pg_app.app_context():
            realtime.publish("test:amt", {"html": "from the test process", "n": 1})
            realtime.publish("test:other", {"n": 0})
            db.session.commit()
        for stream in streams:
            assert stream.next_event()["data"] == "test:amt\nfrom the test process"
            assert stream.next_event()["data"] == "1"

        # and from whichever worker takes the request to the streams on all the others
        assert get_json(base + "/_test/streams/amt/publish", {"html": "from a worker", "n": 2})[0] == 200
        for stream in streams:
            assert stream.next_event()["data"] == "test:amt\nfrom a worker"
            assert stream.next_event()["data"] == "2"
        for stream in streams:
            stream.close()


COOPERATION_SCRIPT = """
import sys
if sys.argv[2] == "before":
    import psycopg  # imported before gevent patches: psycopg picks its blocking C wait
from gevent import monkey
monkey.patch_all()
import gevent
import psycopg
from booking.realtime.cooperative import make_psycopg_cooperative

make_psycopg_cooperative()
order = []

def query():
    with psycopg.connect(sys.argv[1]) as conn:
        conn.execute("select pg_sleep(1)")
    order.append("query")

def listen():
    with psycopg.connect(sys.argv[1], autocommit=True) as conn:
        conn.execute("LISTEN nothing_is_sent_here")
        for _ in conn.notifies(timeout=1):
            pass
    order.append("listen")

def other():
    gevent.sleep(0.1)
    order.append("other")

gevent.joinall([gevent.spawn(query), gevent.spawn(listen), gevent.spawn(other)])
print(" ".join(order))
"""


@pytest.mark.parametrize("psycopg_imported", ["after", "before"])
def test_psycopg_waits_let_other_greenlets_run(pg_url, psycopg_imported):
    """Under gevent a slow query and a LISTEN wait must not block the other greenlets,
    also when psycopg was imported before gevent patched (then we switch its waits)."""
    import subprocess
    import sys

    from tests.server import ROOT

    result = subprocess.run([sys.executable, "-c", COOPERATION_SCRIPT, pg_url, psycopg_imported],
                            cwd=ROOT, capture_output=True, text=True, timeout=WAIT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "other"


def test_closing_every_subscription_ends_the_streams(app, ctx):
    from booking import realtime

    with app.app_context():
        with realtime.subscribe(["office:x"]) as first, realtime.subscribe(["office:y"]) as second:
            realtime.backend().hub.close_all()
            assert first.closed and second.closed
            assert first.get(timeout=5) is None  # returns at once, the stream loop then ends
            assert realtime.backend().hub.subscriber_count() == 0
