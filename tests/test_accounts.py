"""Staff accounts: CLI, login, throttling, password change, API tokens."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from booking.accounts.models import ApiToken, User
from tests.factories import csrf_from, make_town

PASSWORD = "correct horse battery"


@pytest.fixture
def town(ctx):
    return make_town(ctx)


def create(app, email, role, *offices, password=PASSWORD):
    args = ["user", "create", email, "--role", role, "--password-stdin"]
    for office in offices:
        args += ["--office", office]
    return app.test_cli_runner().invoke(args=args, input=password + "\n")


def login(client, email, password=PASSWORD, next_url=""):
    page = client.get("/login")
    return client.post("/login", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                       "email": email, "password": password, "next": next_url})


def test_cli_creates_users_with_hashed_passwords(app, ctx, town):
    result = create(app, "Clerk@Teststadt.example", "clerk", "amt")
    assert result.exit_code == 0, result.output
    user = ctx.scalar(select(User))
    assert user.email == "clerk@teststadt.example" and user.role == "clerk"
    assert user.office_ids == {"amt"}
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


@pytest.mark.parametrize("args,message", [
    (("x@example.org", "clerk"), "--office"),
    (("x@example.org", "clerk", "nowhere"), "unknown office"),
    (("not-an-email", "admin"), "email"),
])
def test_cli_refuses_bad_input(app, town, args, message):
    result = create(app, *args)
    assert result.exit_code != 0 and message in result.output


def test_cli_refuses_short_password_and_duplicates(app, town):
    assert "12 characters" in create(app, "a@example.org", "admin", password="short").output
    assert create(app, "a@example.org", "admin").exit_code == 0
    assert "exists" in create(app, "A@example.org", "admin").output


def test_token_is_printed_last_stored_hashed_and_revocable(app, ctx, client, town):
    create(app, "m@example.org", "manager", "amt")
    result = app.test_cli_runner().invoke(args=["user", "token", "m@example.org"])
    token = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"[\w-]{32}", token)
    stored = ctx.scalar(select(ApiToken))
    assert stored.token_hash != token
    ctx.rollback()  # a SQLite read snapshot held across others' writes blocks later writers
    ok = client.get("/api/v1/offices/amt/appointments?date=2030-01-07",
                    headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    revoked = app.test_cli_runner().invoke(args=["user", "revoke-tokens", "m@example.org"])
    assert "revoked 1" in revoked.output
    refused = client.get("/api/v1/offices/amt/appointments?date=2030-01-07",
                         headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401


def test_login_logout(app, client, town):
    create(app, "c@example.org", "clerk", "amt")
    assert client.get("/staff/").status_code == 302
    response = login(client, "c@example.org", next_url="/staff/password")
    assert response.status_code == 303 and response.headers["Location"] == "/staff/password"
    page = client.get("/staff/")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    out = client.post("/logout", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert out.status_code == 303
    assert client.get("/staff/").status_code == 302


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_login_never_redirects_off_site(app, client, town, target):
    create(app, "c@example.org", "clerk", "amt")
    response = login(client, "c@example.org", next_url=target)
    assert response.headers["Location"] == "/staff/"


def test_wrong_password_then_throttled(app, client, town):
    create(app, "c@example.org", "clerk", "amt")
    for _ in range(5):
        assert login(client, "c@example.org", "wrong password!").status_code == 401
    # now even the right password is refused for a while
    assert login(client, "c@example.org").status_code == 429
    # another account from the same client is still allowed
    create(app, "d@example.org", "clerk", "amt")
    assert login(client, "d@example.org").status_code == 303


def test_unknown_user_gets_the_same_answer(app, client, town):
    create(app, "c@example.org", "clerk", "amt")
    unknown = login(client, "nobody@example.org", "whatever password")
    wrong = login(client, "c@example.org", "whatever password")
    assert unknown.status_code == wrong.status_code == 401


def test_password_change_ends_other_sessions(app, client, town):
    create(app, "c@example.org", "clerk", "amt")
    other = app.test_client()
    assert login(other, "c@example.org").status_code == 303
    assert login(client, "c@example.org").status_code == 303
    page = client.get("/staff/password")
    changed = client.post("/staff/password", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "current": PASSWORD,
        "new": "an even better passphrase", "repeat": "an even better passphrase"})
    assert changed.status_code == 303
    assert client.get("/staff/").status_code == 200  # this session continues
    assert other.get("/staff/").status_code == 302  # the other one is logged out
    assert login(other, "c@example.org", "an even better passphrase").status_code == 303


def test_session_cookie_flags_in_production(app):
    from booking.config import load_config

    config = load_config("/nonexistent", {"BOOKING_ENV": "production", "SECRET_KEY": "k",
                                           "DATABASE_URL": "sqlite://"})
    assert config["SESSION_COOKIE_SECURE"] and config["SESSION_COOKIE_HTTPONLY"]
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
