"""Staff logins behind a reverse proxy and staff sessions.

The login throttle counts per real client (ProxyFix trusts ``X-Forwarded-For`` only
from ``TRUSTED_PROXY_COUNT`` proxies) and per account, so one attacker locks out neither
the account's owner nor anybody else. A session lives on the server: logging out ends
every copy of the cookie, and sessions end when idle and after an absolute lifetime.
Writes to the API need the CSRF token whenever the session authenticated them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from booking.accounts.models import StaffSession
from booking.accounts.operations import MAX_FAILURES_PER_CLIENT
from tests.factories import (
    PASSWORD,
    add_user,
    cheap_hashing,
    counter,
    csrf_from,
    log_in_with_password,
    make_town,
    session_csrf,
)

ATTACKER, OWNER, COLLEAGUE = "203.0.113.66", "198.51.100.7", "198.51.100.8"
NGINX = "127.0.0.1"


@pytest.fixture
def town(ctx, monkeypatch):
    cheap_hashing(monkeypatch)
    return make_town(ctx)


@pytest.fixture
def proxied_app(app_config):
    """The app as deployed behind one proxy (deploy/systemd/env.example)."""
    from booking import create_app
    from booking.db import db

    app = create_app({**app_config, "TRUSTED_PROXY_COUNT": 1})
    yield app
    app.extensions["realtime"].stop()
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()  # no pooled connection outlives the test


def login(client, email, password=PASSWORD, headers=None):
    """The login form from the client's address (``REMOTE_ADDR``) with ``headers``."""
    env = {"REMOTE_ADDR": NGINX}
    page = client.get("/login", headers=headers, environ_base=env)
    return client.post("/login", headers=headers, environ_base=env, data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "email": email,
        "password": password})


def via_nginx(client_address: str) -> dict:
    # over HTTPS, Flask-WTF wants a same-origin Referer, as browsers send it
    return {"X-Forwarded-For": client_address, "X-Forwarded-Proto": "https",
            "Referer": "https://localhost/login"}


def test_an_attack_from_one_client_locks_out_neither_the_owner_nor_others(proxied_app, town,
                                                                          ctx):
    victim, other = add_user(ctx, "clerk", "amt"), add_user(ctx, "manager", "amt")
    attacker = proxied_app.test_client()
    for attempt in range(MAX_FAILURES_PER_CLIENT):
        account = victim if attempt < 5 else f"guess{attempt}@teststadt.example"
        assert login(attacker, account, "wrong password!", via_nginx(ATTACKER)).status_code \
            == 401
    # the attacker is stopped, at the victim's account and at any other
    assert login(attacker, victim, headers=via_nginx(ATTACKER)).status_code == 429
    assert login(attacker, other, headers=via_nginx(ATTACKER)).status_code == 429
    # the owner, from their own address, logs in with the right password
    owner = proxied_app.test_client()
    assert login(owner, victim, headers=via_nginx(OWNER)).status_code == 303
    assert owner.get("/staff/").status_code == 200
    # and so does everybody else at their own accounts
    colleague = proxied_app.test_client()
    assert login(colleague, other, headers=via_nginx(COLLEAGUE)).status_code == 303


def test_five_failures_lock_only_that_client_out_of_that_account(proxied_app, town, ctx):
    victim, other = add_user(ctx, "clerk", "amt"), add_user(ctx, "manager", "amt")
    attacker = proxied_app.test_client()
    for _ in range(5):
        assert login(attacker, victim, "wrong password!", via_nginx(ATTACKER)).status_code == 401
    assert login(attacker, victim, headers=via_nginx(ATTACKER)).status_code == 429
    assert login(attacker, other, headers=via_nginx(ATTACKER)).status_code == 303
    assert login(proxied_app.test_client(), victim,
                 headers=via_nginx(OWNER)).status_code == 303


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(app, client, town, ctx):
    """TRUSTED_PROXY_COUNT defaults to 0: a client cannot pose as many clients (to get
    around the throttle) or as the account's owner."""
    assert app.config["TRUSTED_PROXY_COUNT"] == 0
    victim = add_user(ctx, "clerk", "amt")
    for attempt in range(5):
        spoofed = {"X-Forwarded-For": f"192.0.2.{attempt + 1}"}
        assert login(client, victim, "wrong password!", spoofed).status_code == 401
    assert login(client, victim, headers={"X-Forwarded-For": OWNER}).status_code == 429
    page = client.get("/login", headers={"X-Forwarded-For": OWNER,
                                         "X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in page.headers  # not believed to be HTTPS


def test_a_copied_session_cookie_is_dead_after_logout(app, client, town, ctx):
    log_in_with_password(client, add_user(ctx, "clerk", "amt"))
    cookie = client.get_cookie("session").value
    assert client.get("/staff/").status_code == 200
    assert client.post("/logout", data={"csrf_token": session_csrf(client)}).status_code == 303
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/staff/").status_code == 302
    assert thief.get("/api/v1/counters").status_code == 401
    assert ctx.query(StaffSession).count() == 0
    ctx.rollback()


def _age_sessions(ctx, **ago: timedelta) -> None:
    from booking.db import utcnow

    ctx.execute(update(StaffSession).values({k: utcnow() - v for k, v in ago.items()}))
    ctx.commit()


def test_sessions_end_when_idle(app, client, town, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "STAFF_SESSION_IDLE_MINUTES", 20)
    log_in_with_password(client, add_user(ctx, "clerk", "amt"))
    _age_sessions(ctx, last_seen_at=timedelta(minutes=19))
    assert client.get("/staff/").status_code == 200  # in use: the idle time starts again
    ctx.rollback()
    assert (ctx.query(StaffSession.last_seen_at).scalar()
            > ctx.query(StaffSession.created_at).scalar())
    ctx.rollback()
    _age_sessions(ctx, last_seen_at=timedelta(minutes=20, seconds=1))
    assert client.get("/staff/").status_code == 302
    assert client.get("/staff/").status_code == 302  # for good


def test_sessions_end_after_their_lifetime_however_busy(app, client, town, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "STAFF_SESSION_MAX_HOURS", 2)
    log_in_with_password(client, add_user(ctx, "clerk", "amt"))
    _age_sessions(ctx, created_at=timedelta(hours=1, minutes=59))
    assert client.get("/staff/").status_code == 200
    _age_sessions(ctx, created_at=timedelta(hours=2, seconds=1), last_seen_at=timedelta(0))
    assert client.get("/staff/").status_code == 302


def test_a_bogus_bearer_header_does_not_skip_the_csrf_check(app, client, town, ctx):
    """How the request was authenticated decides, not which headers it carries."""
    from booking.offices.models import Counter

    ctx.add(Counter(office_id="amt", name="1"))
    ctx.commit()
    counter_id = counter(ctx, "1").id
    ctx.rollback()
    log_in_with_password(client, add_user(ctx, "clerk", "amt"))
    bogus = {"Authorization": "Bearer not-a-token"}
    assert client.get("/api/v1/counters", headers=bogus).status_code == 200  # the session
    refused = client.post(f"/api/v1/counters/{counter_id}/pause", headers=bogus, json={})
    assert refused.status_code == 400
    with_token = client.post(f"/api/v1/counters/{counter_id}/pause", json={},
                             headers={**bogus, "X-CSRFToken": session_csrf(client)})
    assert with_token.status_code != 400
