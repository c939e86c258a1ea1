"""Proof of work (ALTCHA) on the citizen pages and the JSON API, its no-JavaScript
fallback, and the API keys of trusted portals. Challenges are solved here with the
altcha library's own solver, as the widget would."""

from __future__ import annotations

import re
from datetime import timedelta

import altcha as altcha_lib
import pytest
from sqlalchemy import select

from booking.accounts.models import User
from booking.audit.models import AuditEntry
from booking.db import utcnow
from booking.fairness import MEASURES, portal_keys
from booking.fairness import altcha as pow_check
from booking.fairness.models import PortalKey, SpentChallenge
from booking.offices.models import Office
from booking.scheduling.models import Appointment
from tests.factories import (
    add_user,
    count_rows,
    csrf_from,
    key_from,
    local_iso,
    make_town,
    next_workday,
    open_lottery,
    second_app,
)

COST, MAX_NUMBER, WAIT = 10, 30, 20


@pytest.fixture(scope="module")
def altcha_app(app, app_config):
    """The app with the proof of work on (and every other measure off), on the same
    database; challenges cheap enough for the test's solver."""
    with second_app({**app_config, "ANTI_ABUSE": True,
                     **{f"{name}_ENABLED": False for name in MEASURES},
                     "ALTCHA_ENABLED": True, "ALTCHA_COST": COST,
                     "ALTCHA_MAX_NUMBER": MAX_NUMBER, "ALTCHA_NOJS_WAIT_SECONDS": WAIT}) as other:
        yield other


@pytest.fixture
def guarded(altcha_app, app):
    """A test client of the app with the proof of work on."""
    return altcha_app.test_client()


@pytest.fixture
def town(ctx):
    return make_town(ctx)


def settings(**changes) -> pow_check.Settings:
    return pow_check.Settings(secret="test-secret", cost=COST, max_number=MAX_NUMBER,
                              **changes)


def solve(challenge: dict) -> str:
    """The widget's work: the payload for a challenge as fetched (JSON)."""
    parsed = altcha_lib.Challenge.from_dict(challenge)
    solution = altcha_lib.solve_challenge(parsed)
    assert solution is not None
    return altcha_lib.Payload(parsed, solution).to_base64()


def solved(client) -> str:
    response = client.get("/api/v1/altcha/challenge")
    assert response.status_code == 200
    return solve(response.get_json())


def wait_token_from(html: str) -> str:
    return re.search(r'<input[^>]*name="bot_check"[^>]*value="([^"]+)"', html).group(1)


def form_page(client, start):
    page = client.get("/offices/amt/services/pass/book", query_string={"start": start})
    assert page.status_code == 200
    return page.get_data(as_text=True)


def form_data(html: str, start: str, **fields) -> dict:
    return {"csrf_token": csrf_from(html), "start": start, "key": key_from(html),
            "bot_check": wait_token_from(html), "name": "Max Müller",
            "email": "max@example.org", "phone": "", "privacy": "y", **fields}


def book(client, data):
    return client.post("/offices/amt/services/pass/book", data=data)


def later(monkeypatch, seconds: float) -> None:
    """The server's clock for the check, ``seconds`` ahead."""
    from booking.web import bot_check

    now = utcnow()
    monkeypatch.setattr(bot_check, "utcnow", lambda: now + timedelta(seconds=seconds))


# ---------------------------------------------------------------- the challenge


def test_challenge_endpoint_gives_a_signed_uncached_challenge(guarded):
    response = guarded.get("/api/v1/altcha/challenge")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    parameters = body["parameters"]
    assert parameters["algorithm"] == "PBKDF2/SHA-256" and parameters["cost"] == COST
    assert body["signature"] and parameters["keySignature"]
    assert parameters["expiresAt"] > utcnow().timestamp() + 60
    # every challenge is new
    assert guarded.get("/api/v1/altcha/challenge").get_json()["parameters"]["nonce"] != \
        parameters["nonce"]
    document = guarded.get("/api/v1/openapi.json").get_json()
    assert "/altcha/challenge" in document["paths"]
    booking = document["paths"]["/appointments"]["post"]
    assert {"X-Altcha", "X-Api-Key"} <= {p["name"] for p in booking["parameters"]}
    assert "403" in booking["responses"]
    assert "altcha" in document["components"]["schemas"]["BookingRequest"]["properties"]


def test_verify_accepts_once_and_refuses_wrong_expired_and_forged(ctx):
    now = utcnow()
    payload = solve(pow_check.new_challenge(settings(), now))
    pow_check.verify(payload, settings(), now)
    with pytest.raises(pow_check.ChallengeRefused) as used:
        pow_check.verify(payload, settings(), now)
    assert used.value.reason == pow_check.USED
    ctx.rollback()

    data = altcha_lib.Payload.from_base64(solve(pow_check.new_challenge(settings(), now)))
    data.solution.derived_key = "00" * 32
    with pytest.raises(pow_check.ChallengeRefused) as invalid:
        pow_check.verify(data.to_base64(), settings(), now)
    assert invalid.value.reason == pow_check.INVALID

    old = solve(pow_check.new_challenge(settings(), now - timedelta(minutes=21)))
    with pytest.raises(pow_check.ChallengeRefused) as expired:
        pow_check.verify(old, settings(), now)
    assert expired.value.reason == pow_check.EXPIRED

    forged = solve(pow_check.new_challenge(pow_check.Settings(secret="another key",
                                                             cost=COST, max_number=5), now))
    for payload, reason in ((forged, pow_check.INVALID), ("not base64!", pow_check.MALFORMED),
                            (None, pow_check.MISSING), ("", pow_check.MISSING)):
        with pytest.raises(pow_check.ChallengeRefused) as refused:
            pow_check.verify(payload, settings(), now)
        assert refused.value.reason == reason


def test_the_same_submission_may_carry_its_solution_again(ctx):
    now = utcnow()
    payload = solve(pow_check.new_challenge(settings(), now))
    pow_check.verify(payload, settings(), now, bound_to="form-1")
    pow_check.verify(payload, settings(), now, bound_to="form-1")  # a double click
    for other in ("form-2", None):
        with pytest.raises(pow_check.ChallengeRefused):
            pow_check.verify(payload, settings(), now, bound_to=other)
    ctx.rollback()


def test_expired_spent_challenges_are_purged(ctx):
    from booking.retention import run_purge

    now = utcnow()
    pow_check.verify(solve(pow_check.new_challenge(settings(), now)), settings(), now)
    ctx.commit()
    assert count_rows(ctx, SpentChallenge) == 1
    assert pow_check.purge_spent(now) == 0
    run_purge(now + timedelta(minutes=21), timedelta(days=1))
    ctx.commit()
    assert count_rows(ctx, SpentChallenge) == 0


# ---------------------------------------------------------------- citizen pages


def test_booking_form_shows_the_widget_and_books_with_a_solution(guarded, ctx, town):
    start = local_iso(next_workday(), 9)
    html = form_page(guarded, start)
    assert "<altcha-widget" in html and 'challenge="/api/v1/altcha/challenge"' in html
    assert "vendor/altcha.js" in html and "vendor/altcha.css" in html
    assert 'data-worker="/static/vendor/altcha-pbkdf2.js"' in html
    assert "https://" not in html.split("<footer")[0].split("<main")[1]  # nothing third-party
    assert "<noscript><p class=\"hint\">Ohne JavaScript" in html  # German by default
    assert "Ich bin kein Roboter" in html  # the widget's label, from our translations
    payload = solved(guarded)
    booked = book(guarded, {**form_data(html, start), "altcha": payload})
    assert booked.status_code == 303 and "/manage/" in booked.headers["Location"]
    # the same form sent twice (a double click): the same booking, not a refusal
    again = book(guarded, {**form_data(html, start), "altcha": payload})
    assert again.status_code == 303
    assert again.headers["Location"] == booked.headers["Location"]
    assert count_rows(ctx, Appointment) == 1
    # another form with that solution: refused, the field marked
    html2 = form_page(guarded, local_iso(next_workday(), 10))
    replay = book(guarded, {**form_data(html2, local_iso(next_workday(), 10)),
                            "altcha": payload})
    page = replay.get_data(as_text=True)
    assert replay.status_code == 422
    assert "bereits verwendet" in page and 'href="#bot_check"' in page
    assert 'class="bot-check field-invalid" id="bot_check"' in page
    assert count_rows(ctx, Appointment) == 1


def test_wrong_or_expired_solutions_are_refused_on_the_page(guarded, ctx, town):
    start = local_iso(next_workday(), 9)
    html = form_page(guarded, start)
    data = altcha_lib.Payload.from_base64(solved(guarded))
    data.solution.derived_key = "ab" * 32
    wrong = book(guarded, {**form_data(html, start), "altcha": data.to_base64()})
    assert wrong.status_code == 422
    assert "fehlgeschlagen" in wrong.get_data(as_text=True)
    old = solve(pow_check.new_challenge(settings(), utcnow() - timedelta(hours=1)))
    expired = book(guarded, {**form_data(html, start), "altcha": old})
    assert expired.status_code == 422 and "abgelaufen" in expired.get_data(as_text=True)
    assert count_rows(ctx, Appointment) == 0


def test_without_javascript_the_form_waits_and_is_used_once(guarded, ctx, town, monkeypatch):
    day = next_workday()
    start = local_iso(day, 9)
    html = form_page(guarded, start)
    assert f"bitte warten Sie nach dem Laden dieser Seite {WAIT} Sekunden" in html
    early = book(guarded, form_data(html, start))
    page = early.get_data(as_text=True)
    assert early.status_code == 422
    assert re.search(r"in (19|20) Sekunden erneut", page), page
    assert wait_token_from(page) == wait_token_from(html)  # the waiting goes on
    assert count_rows(ctx, Appointment) == 0

    later(monkeypatch, WAIT + 1)
    booked = book(guarded, form_data(html, start))
    assert booked.status_code == 303
    # the token again, with another submission (another form's key): refused
    other = form_page(guarded, local_iso(day, 10))
    reused = book(guarded, {**form_data(other, local_iso(day, 10)),
                            "bot_check": wait_token_from(html)})
    assert reused.status_code == 422
    assert "bereits verwendet" in reused.get_data(as_text=True)
    # a forged token is no token
    forged = book(guarded, {**form_data(other, local_iso(day, 10)), "bot_check": "x.y"})
    assert forged.status_code == 422
    assert count_rows(ctx, Appointment) == 1


def test_english_page_explains_the_check_in_english(guarded, town):
    start = local_iso(next_workday(), 9)
    guarded.get("/?lang=en")
    html = guarded.get("/offices/amt/services/pass/book", query_string={"start": start},
                       headers={"Accept-Language": "en"}).get_data(as_text=True)
    if 'lang="en"' not in html:  # the language switch is a link on every page
        link = re.search(r'<a href="([^"]+)" lang="en"', html).group(1)
        html = guarded.get(link.replace("&amp;", "&"), follow_redirects=True).get_data(
            as_text=True)
    assert "Check against automated bookings" in html
    assert f"Without JavaScript: please wait {WAIT} seconds" in html
    assert "I am not a robot" in html


def test_moving_needs_the_check_too(guarded, ctx, town, monkeypatch):
    day = next_workday()
    start = local_iso(day, 9)
    html = form_page(guarded, start)
    booked = book(guarded, {**form_data(html, start), "altcha": solved(guarded)})
    base = booked.headers["Location"].split("?")[0]
    new_start = local_iso(day, 10, 30)
    confirm = guarded.get(f"{base}/move/confirm", query_string={"start": new_start})
    confirm_html = confirm.get_data(as_text=True)
    assert "<altcha-widget" in confirm_html
    data = {"csrf_token": csrf_from(confirm_html), "start": new_start,
            "bot_check": wait_token_from(confirm_html)}
    refused = guarded.post(f"{base}/move/confirm", data=data)
    assert refused.status_code == 422 and 'id="error-summary"' in refused.get_data(as_text=True)
    moved = guarded.post(f"{base}/move/confirm", data={**data, "altcha": solved(guarded)})
    assert moved.status_code == 303
    ctx.rollback()
    assert ctx.scalar(select(Appointment)).sequence == 1


def test_entering_a_lottery_needs_the_check_too(guarded, ctx, town, monkeypatch):
    """Many identities entering one draw is what a bot would do: the entry form asks for
    the same proof of work (or the no-JavaScript wait) as a booking."""
    from booking.fairness.lottery_models import LotteryEntry

    path = f"/lotteries/{open_lottery(ctx).id}/"
    html = guarded.get(path).get_data(as_text=True)
    assert "<altcha-widget" in html and "vendor/altcha.js" in html
    data = {"csrf_token": csrf_from(html), "name": "Lotte Losfee",
            "email": "lotte@example.org", "language": "de", "offices": ["amt"],
            "weekdays": ["1", "2"], "times": ["morning"], "privacy": "y",
            "bot_check": wait_token_from(html)}
    early = guarded.post(path, data=data)  # no solution, and sent at once
    page = early.get_data(as_text=True)
    assert early.status_code == 422
    assert 'href="#bot_check"' in page and re.search(r"in (19|20) Sekunden erneut", page)
    assert count_rows(ctx, LotteryEntry) == 0
    entered = guarded.post(path, data={**data, "altcha": solved(guarded)})
    assert entered.status_code == 303
    assert count_rows(ctx, LotteryEntry) == 1


def test_with_the_measure_off_no_check_is_shown_or_needed(client, ctx, town):
    start = local_iso(next_workday(), 9)
    html = form_page(client, start)
    assert "altcha" not in html and 'name="bot_check"' not in html
    booked = book(client, {"csrf_token": csrf_from(html), "start": start,
                           "key": key_from(html), "name": "Max Müller",
                           "email": "max@example.org", "phone": "", "privacy": "y"})
    assert booked.status_code == 303
    api = client.post("/api/v1/appointments", json={
        "office": "amt", "service": "pass", "start": local_iso(next_workday(), 10),
        "name": "Erika Muster", "email": "erika@example.org"})
    assert api.status_code == 201


# ---------------------------------------------------------------- JSON API


def api_body(hour: int, **extra) -> dict:
    return {"office": "amt", "service": "pass", "start": local_iso(next_workday(), hour),
            "name": "Erika Muster", "email": "erika@example.org", **extra}


def test_api_accepts_a_solution_in_the_header_or_the_body_once(guarded, ctx, town):
    missing = guarded.post("/api/v1/appointments", json=api_body(9))
    assert missing.status_code == 403
    assert "X-Altcha" in missing.get_json()["error"]
    payload = solved(guarded)
    by_header = guarded.post("/api/v1/appointments", json=api_body(9),
                             headers={"X-Altcha": payload})
    assert by_header.status_code == 201
    replay = guarded.post("/api/v1/appointments", json=api_body(10),
                          headers={"X-Altcha": payload})
    assert replay.status_code == 403 and "bereits verwendet" in replay.get_json()["error"]
    by_body = guarded.post("/api/v1/appointments", json=api_body(10, altcha=solved(guarded)))
    assert by_body.status_code == 201
    odd = guarded.post("/api/v1/appointments", json=api_body(11, altcha=["x"]))
    assert odd.status_code == 403
    # a retry with the same Idempotency-Key may carry the same solution
    payload = solved(guarded)
    headers = {"X-Altcha": payload, "Idempotency-Key": "retry-1"}
    first = guarded.post("/api/v1/appointments", json=api_body(11), headers=headers)
    retry = guarded.post("/api/v1/appointments", json=api_body(11), headers=headers)
    assert first.status_code == retry.status_code == 201
    assert first.get_json()["code"] == retry.get_json()["code"]
    assert count_rows(ctx, Appointment) == 3

    code, token = first.get_json()["code"], first.get_json()["manage_token"]
    auth = {"Authorization": f"Bearer {token}"}
    move = {"start": local_iso(next_workday(), 11, 30)}
    refused = guarded.post(f"/api/v1/appointments/{code}/reschedule", json=move, headers=auth)
    assert refused.status_code == 403
    moved = guarded.post(f"/api/v1/appointments/{code}/reschedule",
                         json={**move, "altcha": solved(guarded)}, headers=auth)
    assert moved.status_code == 200


def test_api_accepts_a_portal_key_of_the_office_until_revoked(guarded, ctx, town):
    add_user(ctx, "manager", "amt")
    actor = ctx.scalar(select(User))
    office = ctx.get(Office, "amt")
    row, key = portal_keys.issue_key(office, "Serviceportal", actor, utcnow())
    other_office = Office(id="nord", name="Nord", address="Nordring 1", email="n@x.example",
                          timezone="Europe/Berlin", state="HE")
    ctx.add(other_office)
    ctx.flush()
    _, other_key = portal_keys.issue_key(other_office, "Portal Nord", actor, utcnow())
    assert row.key_hash != key and key.startswith("bbk_")
    ctx.commit()

    with_key = guarded.post("/api/v1/appointments", json=api_body(9),
                            headers={"X-Api-Key": key})
    assert with_key.status_code == 201
    wrong_office = guarded.post("/api/v1/appointments", json=api_body(10),
                                headers={"X-Api-Key": other_key})
    assert wrong_office.status_code == 403
    assert "anderen Bürgerbüro" in wrong_office.get_json()["error"]
    unknown = guarded.post("/api/v1/appointments", json=api_body(10),
                           headers={"X-Api-Key": "bbk_nonsense",
                                    "X-Altcha": solved(guarded)})
    assert unknown.status_code == 403  # a key sent decides alone

    row = ctx.get(PortalKey, row.id)
    assert portal_keys.revoke_key(row, actor, utcnow())
    ctx.commit()
    revoked = guarded.post("/api/v1/appointments", json=api_body(10),
                           headers={"X-Api-Key": key})
    assert revoked.status_code == 403 and "widerrufen" in revoked.get_json()["error"]
    assert count_rows(ctx, Appointment) == 1


def test_trusted_portal_names_the_key_of_the_request(altcha_app, app, ctx, town):
    from booking.web.portal_keys import trusted_portal

    add_user(ctx, "manager", "amt")
    actor = ctx.scalar(select(User))
    row, key = portal_keys.issue_key(ctx.get(Office, "amt"), "Portal", actor, utcnow())
    row_id = row.id
    ctx.commit()
    with altcha_app.test_request_context("/api/v1/appointments", headers={"X-Api-Key": key}):
        assert trusted_portal().id == row_id
    for headers in ({}, {"X-Api-Key": "bbk_x"}, {"X-Api-Key": "y" * 500}):
        with altcha_app.test_request_context("/api/v1/appointments", headers=headers):
            assert trusted_portal() is None


# ---------------------------------------------------------------- back office


def test_manager_issues_a_key_shown_once_and_revokes_it(manager, ctx):
    page = manager.get("/admin/offices/amt/portal-keys/")
    assert page.status_code == 200 and "API" in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    empty = manager.post("/admin/offices/amt/portal-keys/", data={"csrf_token": token,
                                                                   "label": " "})
    assert empty.status_code == 422
    issued = manager.post("/admin/offices/amt/portal-keys/",
                          data={"csrf_token": token, "label": "Serviceportal  der Stadt"})
    html = issued.get_data(as_text=True)
    assert issued.status_code == 200 and issued.headers["Cache-Control"] == "no-store"
    key = re.search(r'<code class="portal-key">(bbk_[\w-]+)</code>', html).group(1)
    ctx.rollback()
    row = ctx.scalar(select(PortalKey))
    assert row.label == "Serviceportal der Stadt" and row.key_hash == portal_keys.hash_key(key)
    listing = manager.get("/admin/offices/amt/portal-keys/").get_data(as_text=True)
    assert key not in listing and "Serviceportal der Stadt" in listing  # shown once
    revoked = manager.post(f"/admin/offices/amt/portal-keys/{row.id}/revoke",
                           data={"csrf_token": token})
    assert revoked.status_code == 303
    ctx.rollback()
    assert ctx.get(PortalKey, row.id).revoked_at is not None
    actions = ctx.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["portal_key.issued", "portal_key.revoked"]
    audit = manager.get("/admin/offices/amt/audit").get_data(as_text=True)
    assert "API key for a portal issued" in audit and "API key for a portal revoked" in audit
    # another office's key is not this manager's
    assert manager.get("/admin/offices/nord/portal-keys/").status_code == 403


def test_hostile_payloads_are_refused_not_errors(ctx):
    import base64
    import json

    def encoded(value) -> str:
        return base64.b64encode(json.dumps(value).encode()).decode()

    now = utcnow()
    good = pow_check.new_challenge(settings(), now)
    solution = {"counter": 1, "derivedKey": "ab"}
    payloads = [
        "====", encoded([]), encoded({}), encoded({"challenge": 1, "solution": 2}),
        encoded({"challenge": {"parameters": {}}, "solution": {}}),
        encoded({"challenge": {"parameters": {**good["parameters"], "expiresAt": 10**30},
                               "signature": good["signature"]}, "solution": solution}),
        encoded({"challenge": {"parameters": {**good["parameters"], "nonce": 5},
                               "signature": good["signature"]}, "solution": solution}),
        encoded({"challenge": good, "solution": {"counter": "1", "derivedKey": 5}}),
        encoded({"challenge": {**good, "signature": 5}, "solution": solution}),
        base64.b64encode(b"\xff\xfe").decode(), "a" * 5000,
    ]
    for payload in payloads:
        with pytest.raises(pow_check.ChallengeRefused):
            pow_check.verify(payload, settings(), now)
    for token in ("x", "a.b", "W10.sig", "a" * 5000):
        with pytest.raises(pow_check.ChallengeRefused):
            pow_check.verify_wait_token(token, settings(), now)
    ctx.rollback()
