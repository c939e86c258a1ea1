"""``flask seed-demo`` as ``make run`` uses it: the screens' URLs it prints answer, and in
development the demo staff whose logins it prints can log in; never in production."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from booking.accounts.models import User
from booking.db import db, unit_of_work, utcnow
from booking.demo import DemoStaffRefused, seed_staff
from tests.factories import csrf_from

STAFF_SCREENS = ("/login", "/counter/", "/staff/", "/admin/")


def seed_demo(app) -> str:
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return result.output


def printed_logins(output: str) -> list[tuple[str, str, str]]:
    """(role, email, password) of each line under 'Demo staff logins'."""
    if "Demo staff logins" not in output:
        return []
    block = output.split("Demo staff logins", 1)[1]
    return re.findall(r"^\s+(clerk|manager|admin)\s+(\S+@\S+)\s+(\S+)$", block, flags=re.M)


def printed_paths(app, output: str) -> list[str]:
    base = app.config["BOOKING_BASE_URL"]
    urls = re.findall(r"^\s+.+?\s(https?://\S+)$", output, flags=re.M)
    assert urls and all(url.startswith(base + "/") for url in urls), output
    return [url[len(base):] for url in urls]


def log_in(client, email: str, password: str):
    page = client.get("/login")
    return client.post("/login", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                       "email": email, "password": password})


def count_users(ctx) -> int:
    ctx.rollback()
    return ctx.scalar(select(func.count()).select_from(User))


def test_in_development_the_printed_logins_of_three_staff_work(app, ctx):
    output = seed_demo(app)
    logins = printed_logins(output)
    assert sorted(role for role, _, _ in logins) == ["admin", "clerk", "manager"]
    # the manager may open the back office, the clerk may not, the admin sees every office
    expected = {"clerk": (200, 403, 403), "manager": (200, 200, 403), "admin": (200, 200, 200)}
    for role, email, password in logins:
        client = app.test_client()
        assert log_in(client, email, password).status_code == 303, role
        statuses = tuple(client.get(path).status_code
                         for path in ("/counter/", "/admin/offices/mitte/", "/admin/services/"))
        assert statuses == expected[role], role
    # seeding again keeps the three accounts and their logins
    assert printed_logins(seed_demo(app)) == logins
    assert count_users(ctx) == 3


def test_every_printed_screen_answers(app, client):
    paths = printed_paths(app, seed_demo(app))
    assert {"/", "/kiosk/mitte", "/offices/mitte/display", "/counter/", "/admin/"} <= set(paths)
    for path in paths:
        response = client.get(path)
        if path in STAFF_SCREENS and path != "/login":
            assert response.status_code == 302, path
            assert response.headers["Location"].startswith("/login"), path
        else:
            assert response.status_code == 200, path
    _, email, password = next(login for login in printed_logins(seed_demo(app))
                              if login[0] == "admin")
    assert log_in(client, email, password).status_code == 303
    for path in paths:
        if path != "/login":
            assert client.get(path).status_code == 200, path


def test_in_production_seed_demo_creates_no_staff(app, monkeypatch):
    # no ``ctx`` here: the command would run in its app context, not in ``app``'s
    monkeypatch.setitem(app.config, "BOOKING_ENV", "production")
    output = seed_demo(app)
    assert "no demo staff accounts" in output and "BOOKING_ENV=production" in output
    assert printed_logins(output) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        with pytest.raises(DemoStaffRefused), unit_of_work():
            seed_staff(utcnow())
        assert db.session.scalar(select(func.count()).select_from(User)) == 0

