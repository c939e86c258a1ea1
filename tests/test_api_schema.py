"""The API and its OpenAPI document agree: schemathesis against the app under gunicorn,
and the cases it found, pinned down.

About a thousand generated requests (a fixed seed, a bounded number per operation) with
every check schemathesis has: no 5xx, only documented status codes, content types and
response bodies matching the document, schema-valid requests accepted and invalid ones
refused, a 405 with Allow for undocumented methods, authentication not ignored.
Settings and the reasons for them: tests/schemathesis.toml.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from booking.accounts.operations import create_user, issue_api_token
from booking.db import utcnow
from booking.offices.models import Counter
from booking.queueing import arrivals
from booking.web.api.openapi import openapi_document
from tests.factories import PASSWORD, counter
from tests.server import ROOT, gunicorn

MAX_EXAMPLES = 20  # per operation and phase: about 1,000 cases in all
SEED = 1


@pytest.fixture(params=["measures off", "measures on"])
def served(request, ctx, database_url, instance_dir):
    """The demo town (flask seed-demo), an administrator's API token, the app under gunicorn
    with the queue open around the clock; once with the fair-access measures off, once on
    (proof of work, rate limits, cap, double opt-in: their 403, 429 and 422 answers must
    be documented too). Returns the base URL, the token and the examples per operation."""
    from booking.demo import seed

    seed(utcnow())
    token = issue_api_token(create_user("admin@example.org", PASSWORD, "admin", [], utcnow()),
                            utcnow())
    ctx.commit()
    on = request.param == "measures on"
    with gunicorn(database_url, instance_dir, workers=2, QUEUE_ALWAYS_OPEN="1",
                  ANTI_ABUSE="1" if on else "0") as base:
        yield base, token, MAX_EXAMPLES // 4 if on else MAX_EXAMPLES


@pytest.mark.server
def test_the_api_keeps_to_its_openapi_document(served, tmp_path):
    base, token, examples = served
    command = [
        os.path.join(os.path.dirname(sys.executable), "schemathesis"),
        "--config-file", os.path.join(ROOT, "tests", "schemathesis.toml"), "--no-color",
        "run", f"{base}/api/v1/openapi.json", "--checks", "all", "--seed", str(SEED),
        "--max-examples", str(examples), "--generation-database", "none",
        "--header", f"Authorization: Bearer {token}",
        # one worker: schemathesis compiling code in two threads at once hit CPython's
        # "AST constructor recursion depth mismatch" (an error of the tool, not of the API)
        "--workers", "1",
        "--report", "junit", "--report-dir", str(tmp_path),
    ]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900,
                            check=False)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    generated = re.search(r"(\d+) generated", result.stdout)
    assert generated and int(generated[1]) >= examples * 25, result.stdout[-3000:]  # it ran


# ---------------------------------------------------------------- what the runs found


@pytest.fixture
def staff(ctx, floor):
    """Headers with an administrator's API token, the id of counter '1' and of a
    waiting ticket."""
    token = issue_api_token(create_user("admin@example.org", PASSWORD, "admin", [], utcnow()),
                            utcnow())
    ticket = arrivals.draw_ticket(floor, "pass", utcnow()).ticket
    ctx.commit()
    ids = counter(ctx, "1").id, ticket.id
    ctx.rollback()
    return {"Authorization": f"Bearer {token}"}, *ids


def _paused(ctx, counter_id: int) -> bool:
    ctx.rollback()
    paused = ctx.get(Counter, counter_id).paused
    ctx.rollback()
    return paused


def test_pause_refuses_a_body_that_is_not_an_object(client, ctx, staff):
    headers, counter_id, _ = staff
    url = f"/api/v1/counters/{counter_id}/pause"
    for body in ("false", "[]", "null", "0"):
        response = client.post(url, data=body, headers=headers, content_type="application/json")
        assert response.status_code == 400, body
        assert response.get_json()["error"]
    assert not _paused(ctx, counter_id)
    assert client.post(url, headers=headers).get_json()["paused"] is True  # no body: pause
    assert client.post(url, json={"paused": False}, headers=headers).get_json()["paused"] is False
    refused = client.post(url, json={"paused": "no"}, headers=headers)
    assert refused.status_code == 422 and "paused" in refused.get_json()["errors"]


def test_every_422_marks_the_fields(client, staff):
    headers, counter_id, ticket_id = staff
    drawn = client.post("/api/v1/offices/amt/tickets", json={"service": "nix"})
    assert drawn.status_code == 422 and "service" in drawn.get_json()["errors"]
    called = client.post(f"/api/v1/counters/{counter_id}/call-next", headers=headers)
    assert called.get_json()["id"] == ticket_id
    moved = client.post(f"/api/v1/tickets/{ticket_id}/transfer", json={"service": "nix"},
                        headers=headers)
    assert moved.status_code == 422 and "service" in moved.get_json()["errors"]
    for value in (2**31, 2**63, -1, 0, True, "1", 1.5, None):
        response = client.post(f"/api/v1/tickets/{ticket_id}/return", json={"counter": value},
                               headers=headers)
        assert response.status_code == 422, value
        assert "counter" in response.get_json()["errors"]


def test_empty_and_out_of_range_dates_are_refused(client, staff):
    headers = staff[0]
    for query in ("date=", "date=1999-12-31", "date=2200-01-01", "date=x"):
        response = client.get(f"/api/v1/offices/amt/appointments?{query}", headers=headers)
        assert response.status_code == 400, query
    assert client.get("/api/v1/offices/nix/appointments", headers=headers).status_code == 404


def test_the_document_lists_every_status_the_refusals_use():
    document = openapi_document()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "400" in responses, (method, path)  # NUL anywhere, malformed JSON
            if "422" in responses:
                schema = responses["422"]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ValidationError"}, (method, path)
    queue = document["paths"]
    assert {"400", "404"} <= set(queue["/tickets/{id}/return"]["post"]["responses"])
    assert {"400", "404"} <= set(queue["/offices/{office}/appointments"]["get"]["responses"])
    assert "400" in queue["/counters/{counter}/pause"]["post"]["responses"]
