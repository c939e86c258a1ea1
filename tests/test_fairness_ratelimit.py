"""Rate limits in the app (booking.web.limits): per client address and per visitor cookie,
429 with Retry-After and a translated message, exemptions, the switch, a Redis storage that
is down, and the limit holding across four gunicorn workers sharing Redis."""

from __future__ import annotations

import concurrent.futures
import json
import re
import secrets
import urllib.error
import urllib.request

import pytest
import redis

from booking import create_app
from booking.db import utcnow
from tests.factories import csrf_from, dispose_app, local_iso, make_town, make_user, next_workday

LIMITS = {
    "RATELIMIT_SLOTS": "3/day", "RATELIMIT_SLOTS_PER_ADDRESS": "5/day",
    "RATELIMIT_BOOKING": "2/day", "RATELIMIT_BOOKING_PER_ADDRESS": "5/day",
    "RATELIMIT_MOVING": "2/day", "RATELIMIT_MOVING_PER_ADDRESS": "5/day",
    "RATELIMIT_CHECKIN": "2/day", "RATELIMIT_CHECKIN_PER_ADDRESS": "5/day",
    "RATELIMIT_TICKETS": "2/day", "RATELIMIT_TICKETS_PER_ADDRESS": "5/day",
    "RATELIMIT_KIOSK_PER_ADDRESS": "3/day",
}
SLOTS = "/api/v1/offices/amt/services/pass/slots"


def limited_app(app_config, **settings):
    """An app with only the rate limits on (small ones), errors not swallowed."""
    return create_app({**app_config, "ANTI_ABUSE": True, "ALTCHA_ENABLED": False,
                       "EMAIL_CAP_ENABLED": False, "DOUBLE_OPT_IN_ENABLED": False,
                       "RELEASE_DELAY_ENABLED": False, "RATELIMIT_SWALLOW_ERRORS": False,
                       **LIMITS, **settings})




@pytest.fixture(scope="module")
def limited_module(app, app_config):
    made = limited_app(app_config)
    yield made
    dispose_app(made)


@pytest.fixture
def limited(limited_module, app):
    limited_module.extensions["booking_limiter"].reset()
    return limited_module


def client_at(made, address: str, cookies: bool = True):
    client = made.test_client(use_cookies=cookies)
    client.environ_base["REMOTE_ADDR"] = address
    return client


def visitor(made, address: str):
    """A browser at ``address`` that has been given its visitor cookie."""
    client = client_at(made, address)
    response = client.get("/")
    assert "visitor=" in response.headers.get("Set-Cookie", "")
    return client


def post_ticket(client, **headers):
    return client.post("/api/v1/offices/nix/tickets", json={}, headers=headers)


def statuses(calls) -> list[int]:
    return [call().status_code for call in calls]


# ---------------------------------------------------------------- per address, per visitor


def test_listing_without_the_cookie_counts_per_address(limited, ctx):
    make_town(ctx)
    bot = client_at(limited, "203.0.113.1", cookies=False)
    answers = [bot.get(SLOTS) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    # a public listing hands out no cookie (nginx would not keep it for everybody)
    assert all("Set-Cookie" not in a.headers for a in answers[:5])
    assert answers[0].cache_control.public
    assert client_at(limited, "203.0.113.2", cookies=False).get(SLOTS).status_code == 200


def test_listing_with_the_cookie_counts_per_visitor_too(limited, ctx):
    make_town(ctx)
    anna = visitor(limited, "198.51.100.7")
    assert statuses([lambda: anna.get(SLOTS)] * 4) == [200, 200, 200, 429]
    ben = visitor(limited, "198.51.100.7")  # the same address: ben still has his own
    assert statuses([lambda: ben.get(SLOTS)] * 2) == [200, 200]
    # anna's refused request used nothing of the address's 5: ben's 2 + anna's 3 = 5
    assert client_at(limited, "198.51.100.7", cookies=False).get(SLOTS).status_code == 429


def test_visitors_behind_one_address_book_apart_and_bots_without_cookies_share(limited):
    anna, ben = visitor(limited, "198.51.100.9"), visitor(limited, "198.51.100.9")
    book = "/api/v1/appointments"
    assert statuses([lambda: anna.post(book, json={})] * 3) == [422, 422, 429]
    assert statuses([lambda: ben.post(book, json={})] * 2) == [422, 422]
    # every client without the cookie at that address together: one visitor's allowance
    bots = [client_at(limited, "198.51.100.9", cookies=False) for _ in range(3)]
    assert statuses([lambda b=b: b.post(book, json={}) for b in bots]) == [422, 429, 429]
    # the address's 5 are used up (anna 2, ben 2, the bots 1) for a new visitor too
    carl = visitor(limited, "198.51.100.9")
    assert carl.post(book, json={}).status_code == 429
    assert visitor(limited, "198.51.100.10").post(book, json={}).status_code == 422


def test_a_forged_visitor_cookie_counts_as_none(limited):
    bot = client_at(limited, "192.0.2.50")
    for n in range(3):
        bot.set_cookie("visitor", f"forged-{n}")
        status = bot.post("/api/v1/offices/nix/checkins", json={}).status_code
        assert status == (429 if n == 2 else 404)


def test_ipv6_clients_count_by_their_64_prefix(limited):
    calls = [lambda n=n: post_ticket(client_at(limited, f"2001:db8:1:2::{n:x}", cookies=False))
             for n in range(1, 4)]
    assert statuses(calls) == [404, 404, 429]
    other = client_at(limited, "2001:db8:1:3::1", cookies=False)
    assert post_ticket(other).status_code == 404


# ---------------------------------------------------------------- the answer


@pytest.mark.parametrize("language, text", [
    ("de", "Zu viele Anfragen von Ihrer Verbindung in kurzer Zeit. Bitte versuchen Sie es in"),
    ("en", "Too many requests from your connection in a short time. Please try again in"),
])
def test_api_429_is_json_with_retry_after_and_a_translated_message(limited, language, text):
    client = client_at(limited, "192.0.2.60", cookies=False)
    for _ in range(2):
        post_ticket(client, **{"Accept-Language": language})
    refused = post_ticket(client, **{"Accept-Language": language})
    assert refused.status_code == 429
    assert refused.is_json and refused.get_json()["error"].startswith(text)
    assert 0 < int(refused.headers["Retry-After"]) <= 86400 + 1
    assert refused.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("language, title, text", [
    ("de", "Zu viele Anfragen", r"Bitte versuchen Sie es in 2[45] Stunden noch einmal\."),
    ("en", "Too many requests", r"Please try again in 2[45] hours\."),
])
def test_page_429_is_the_error_page_with_retry_after(limited, ctx, language, title, text):
    make_town(ctx)
    anna = visitor(limited, "192.0.2.61")
    page = "/offices/amt/services/pass/"
    for _ in range(3):
        assert anna.get(page, headers={"Accept-Language": language}).status_code == 200
    refused = anna.get(page, headers={"Accept-Language": language})
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    html = refused.get_data(as_text=True)
    assert f"<h1>{title}</h1>" in html and re.search(text, html)
    assert int(refused.headers["Retry-After"]) > 0


def test_citizen_booking_form_and_move_are_limited(limited, ctx):
    make_town(ctx)
    anna = visitor(limited, "192.0.2.62")
    url = "/offices/amt/services/pass/book"
    start = local_iso(next_workday(), 9)
    form = anna.get(url, query_string={"start": start})
    assert form.status_code == 200  # showing the form is not counted
    token = csrf_from(form.get_data(as_text=True))
    sent = [anna.post(url, data={"csrf_token": token, "start": start, "name": "",
                                 "email": "x"}) for _ in range(3)]
    assert [s.status_code for s in sent] == [422, 422, 429]
    moves = [anna.post("/manage/ABCD2345/not-a-token/move/confirm",
                       data={"csrf_token": token}) for _ in range(3)]
    assert [m.status_code for m in moves] == [404, 404, 429]


def test_waitlist_wishes_count_as_bookings(limited, ctx):
    """A wish holds a seat once it is offered: the page and the API share the
    visitor's booking allowance (2 a day here)."""
    make_town(ctx)
    anna = visitor(limited, "192.0.2.63")
    book = anna.post("/api/v1/appointments", json={"office": "amt"})
    wishes = [anna.post("/api/v1/waitlist", json={"service": "pass"}) for _ in range(2)]
    assert [book.status_code] + [w.status_code for w in wishes] == [422, 422, 429]
    form = anna.get("/services/pass/waitlist")
    page = anna.post("/services/pass/waitlist",
                     data={"csrf_token": csrf_from(form.get_data(as_text=True))})
    assert page.status_code == 429


# ---------------------------------------------------------------- exemptions


def test_staff_are_exempt(limited, ctx):
    _, session_id = make_user(ctx, "admin")
    clerk = client_at(limited, "192.0.2.70")
    with clerk.session_transaction() as sess:
        sess["_user_id"] = session_id
        sess["_fresh"] = True
    make_town(ctx)
    assert set(statuses([lambda: clerk.get("/offices/amt/services/pass/")] * 8)) == {200}


def test_staff_api_tokens_are_exempt(limited, ctx):
    from booking.accounts.models import User
    from booking.accounts.operations import issue_api_token

    user_id, _ = make_user(ctx, "admin")
    token = issue_api_token(ctx.get(User, user_id), utcnow())
    ctx.commit()
    client = client_at(limited, "192.0.2.71", cookies=False)
    calls = [lambda: post_ticket(client, Authorization=f"Bearer {token}")] * 8
    assert set(statuses(calls)) == {404}
    assert statuses([lambda: post_ticket(client)] * 3) == [404, 404, 429]


def kiosk_draws(client, count: int) -> list[int]:
    page = client.get("/kiosk/amt")
    token = csrf_from(page.get_data(as_text=True))
    return [client.post("/kiosk/amt/tickets", data={"csrf_token": token, "service": "pass"})
            .status_code for _ in range(count)]


def test_the_kiosk_counts_per_address_only(limited, floor):
    kiosk = client_at(limited, "10.20.1.5")  # one device, one session, everybody's tickets
    assert kiosk_draws(kiosk, 4) == [303, 303, 303, 429]


def test_a_busy_morning_at_the_kiosk_is_never_limited_by_default(app_config, floor, app):
    defaults = create_app({**app_config, "ANTI_ABUSE": True, "ALTCHA_ENABLED": False,
                           "EMAIL_CAP_ENABLED": False, "DOUBLE_OPT_IN_ENABLED": False,
                           "RELEASE_DELAY_ENABLED": False, "RATELIMIT_SWALLOW_ERRORS": False})
    try:
        assert defaults.config["RATELIMIT_KIOSK_PER_ADDRESS"] == "60/minute"
        kiosk = client_at(defaults, "10.20.1.5")
        assert set(kiosk_draws(kiosk, 40)) == {303}  # far more than one screen can serve
    finally:
        dispose_app(defaults)


def test_office_networks_are_exempt(app_config, floor, app):
    made = limited_app(app_config, RATELIMIT_EXEMPT_NETWORKS="10.20.0.0/16, 2001:db8:99::/48")
    try:
        assert set(kiosk_draws(client_at(made, "10.20.1.5"), 6)) == {303}
        assert kiosk_draws(client_at(made, "10.21.0.1"), 4)[-1] == 429
        assert set(statuses([lambda: post_ticket(client_at(made, "2001:db8:99:1::5"))] * 6)) \
            == {404}
    finally:
        dispose_app(made)


# ---------------------------------------------------------------- switches and storage


@pytest.mark.parametrize("switch", [{"ANTI_ABUSE": False}, {"RATELIMIT_ENABLED": False}])
def test_switched_off_nothing_is_limited(app_config, app, switch):
    made = limited_app(app_config, **switch)
    try:
        assert "booking_limiter" not in made.extensions
        client = client_at(made, "192.0.2.80", cookies=False)
        assert set(statuses([lambda: post_ticket(client)] * 10)) == {404}
        assert "visitor=" not in client.get("/").headers.get("Set-Cookie", "")
    finally:
        dispose_app(made)


def test_an_unreachable_redis_lets_requests_through_and_is_logged(app_config, app, caplog):
    made = limited_app(app_config, RATELIMIT_SWALLOW_ERRORS=True,
                       RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0",  # discard: refused
                       RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 0.25})
    try:
        client = client_at(made, "192.0.2.81", cookies=False)
        assert set(statuses([lambda: post_ticket(client)] * 4)) == {404}
        assert "Failed to rate limit" in caplog.text
    finally:
        dispose_app(made)


# ---------------------------------------------------------------- several workers, Redis


@pytest.mark.server
def test_the_limit_holds_across_four_workers_sharing_redis(database_url, tmp_path, app):
    from tests.server import gunicorn

    prefix = "booking-test-" + secrets.token_hex(6)
    store = redis.Redis.from_url("redis://127.0.0.1:6379/7")
    allowed, extra = 10, 14

    def draw(base: str) -> int:
        request = urllib.request.Request(
            base + "/api/v1/offices/nix/tickets", data=b"{}", method="POST",
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read() or b"{}")
            if exc.code == 429:
                assert exc.headers["Retry-After"].isdigit() and body["error"]
            return exc.code

    try:
        with gunicorn(database_url, tmp_path, workers=4, ANTI_ABUSE="1", ALTCHA_ENABLED="0",
                      EMAIL_CAP_ENABLED="0", DOUBLE_OPT_IN_ENABLED="0",
                      RELEASE_DELAY_ENABLED="0",
                      RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/7",
                      RATELIMIT_KEY_PREFIX=prefix, RATELIMIT_TICKETS=f"{allowed}/day",
                      RATELIMIT_TICKETS_PER_ADDRESS="1000/day") as base:
            with concurrent.futures.ThreadPoolExecutor(max_workers=allowed + extra) as pool:
                codes = list(pool.map(lambda _: draw(base), range(allowed + extra)))
            assert sorted(codes) == [404] * allowed + [429] * extra
            keys = store.keys(f"*{prefix}*")
            assert keys and all(re.search(rb"tickets/(visitor|address)", k) for k in keys)
    finally:
        for key in store.scan_iter(f"*{prefix}*"):
            store.delete(key)
        store.close()
