"""The walk-in queue under concurrency, against a real multi-worker gunicorn server:
ticket numbers are never given twice and no ticket is ever called to two counters."""

from __future__ import annotations

from collections import Counter as Tally

import pytest
from sqlalchemy import select

from booking.accounts.models import User
from booking.accounts.operations import create_user, issue_api_token
from booking.db import utcnow
from booking.offices.models import Counter, Service
from booking.queueing.models import CALLED, Ticket
from tests.factories import race
from tests.server import gunicorn, post_json

pytestmark = pytest.mark.server

COUNTERS = 12




@pytest.fixture
def staffed_floor(ctx, floor):  # noqa: F811
    """The floor with COUNTERS extra counters for melde and a clerk's API token."""
    melde = ctx.get(Service, "melde")
    for i in range(COUNTERS):
        ctx.add(Counter(office=floor, name=f"P{i + 1:02d}", services=[melde]))
    user = create_user("clerk@example.org", "correct horse battery", "clerk", ["amt"], utcnow())
    ctx.flush()
    token = issue_api_token(ctx.get(User, user.id), utcnow())
    ctx.commit()
    ids = ctx.scalars(select(Counter.id).where(Counter.name.like("P%"))).all()
    ctx.rollback()
    return {"Authorization": f"Bearer {token}"}, ids


def test_concurrent_draws_get_distinct_running_numbers(ctx, floor, database_url,  # noqa: F811
                                                       instance_dir):
    with gunicorn(database_url, instance_dir, workers=4) as base:
        url = base + "/api/v1/offices/amt/tickets"
        results = race([lambda i=i: post_json(url, {"service": "melde" if i % 2 else "pass"})
                        for i in range(40)])
    assert [status for status, _ in results] == [201] * 40
    numbers = [body["number"] for _, body in results]
    seqs = sorted(int(n[1:]) for n in numbers)
    assert seqs == list(range(1, 41))  # 1..40, none twice, none skipped
    ctx.rollback()
    assert len(ctx.scalars(select(Ticket.id)).all()) == 40


def test_concurrent_call_next_never_calls_one_ticket_twice(ctx, staffed_floor, database_url,
                                                           instance_dir):
    headers, counter_ids = staffed_floor
    with gunicorn(database_url, instance_dir, workers=4) as base:
        for _ in range(8):  # fewer tickets than counters: some must get 204
            assert post_json(base + "/api/v1/offices/amt/tickets", {"service": "melde"})[0] == 201
        calls = [lambda c=c: post_json(f"{base}/api/v1/counters/{c}/call-next", {}, headers)
                 for c in counter_ids]
        results = race(calls)
        # the same counter pressed many times at once (double clicks, two tabs)
        same = race([lambda: post_json(f"{base}/api/v1/counters/{counter_ids[0]}/call-next",
                                       {}, headers) for _ in range(10)])
    statuses = Tally(status for status, _ in results)
    assert statuses == {200: 8, 204: COUNTERS - 8}
    called = [body["id"] for status, body in results if status == 200]
    assert len(set(called)) == 8
    # counter 1 was busy with its ticket already (or had none): never a second one, never a 500
    assert {status for status, _ in same} <= {204, 409}
    ctx.rollback()
    rows = ctx.execute(select(Ticket.id, Ticket.counter_id).where(Ticket.status == CALLED)).all()
    assert len(rows) == 8
    assert len({counter for _, counter in rows}) == 8  # one ticket per counter


def test_a_call_reaches_display_streams_held_by_every_worker(ctx, staffed_floor, database_url,
                                                              instance_dir, db_kind):
    """PostgreSQL: four workers, eight display streams (spread over the workers by the
    kernel); a call made through any worker reaches all of them. SQLite has no
    cross-process fan-out (one worker, in-process), so there it is one worker."""
    workers = 4 if db_kind == "postgresql" else 1
    headers, counter_ids = staffed_floor
    import http.client
    import threading
    from urllib.parse import urlsplit

    with gunicorn(database_url, instance_dir, workers=workers,
                  REALTIME_HEARTBEAT_SECONDS="1") as base:
        host = urlsplit(base)
        seen: list[str] = []
        ready = threading.Barrier(9)

        def watch():
            conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
            conn.request("GET", "/offices/amt/display/events")
            response = conn.getresponse()
            buffer = ""
            ready.wait()
            while "M001" not in buffer:
                line = response.fp.readline().decode()
                if not line:
                    break
                if 'data-newest="' in line:
                    buffer += line
            seen.append(buffer)
            conn.close()

        threads = [threading.Thread(target=watch) for _ in range(8)]
        for t in threads:
            t.start()
        ready.wait()
        assert post_json(base + "/api/v1/offices/amt/tickets", {"service": "melde"})[0] == 201
        status, ticket = post_json(f"{base}/api/v1/counters/{counter_ids[0]}/call-next", {},
                                   headers)
        assert status == 200
        for t in threads:
            t.join(30)
    assert len(seen) == 8
    assert all(f'data-newest="{ticket["number"]}@Schalter P01@' in s for s in seen)
