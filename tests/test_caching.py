"""HTTP caching headers of the public listings of free times (booking/web/caching.py):
the JSON slot listing, the ICS feed and the citizen calendar (page and htmx fragment).
nginx keeps exactly these for a second (tests/test_nginx.py)."""

from __future__ import annotations

import pytest

from booking.db import utcnow
from tests.factories import local_iso, make_town, next_workday

DAY = next_workday()
LISTINGS = {
    "json": f"/api/v1/offices/amt/services/pass/slots?from={DAY}&to={DAY}",
    "ics": "/offices/amt/services/pass/slots.ics",
    "page": f"/offices/amt/services/pass/?month={DAY:%Y-%m}&day={DAY}",
    "fragment": f"/offices/amt/services/pass/?month={DAY:%Y-%m}&day={DAY}",
}
HTMX = {"HX-Request": "true"}


@pytest.fixture
def town(ctx, monkeypatch):
    # the ICS feed's DTSTAMP is the current second: one clock for the whole test
    now = utcnow()
    monkeypatch.setattr("booking.web.citizen.views.utcnow", lambda: now)
    return make_town(ctx)


def get(client, kind, headers=None):
    return client.get(LISTINGS[kind], headers={**(HTMX if kind == "fragment" else {}),
                                               **(headers or {})})


def vary(response) -> set[str]:
    return {v.strip().lower() for v in response.headers.get("Vary", "").split(",") if v.strip()}


@pytest.mark.parametrize("kind", LISTINGS)
def test_public_listing_is_cacheable_and_cookie_free(client, town, kind):
    response = get(client, kind)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=1"
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')  # strong, not W/"…"
    assert response.headers.getlist("Set-Cookie") == []
    assert "cookie" not in vary(response)
    if kind in ("page", "fragment"):
        assert {"hx-request", "hx-history-restore-request", "accept-language"} <= vary(response)
    if kind == "ics":
        assert "accept-language" in vary(response)  # the feed's texts are translated

    again = get(client, kind, {"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == "public, max-age=1"
    assert again.headers.getlist("Set-Cookie") == []
    assert get(client, kind, {"If-None-Match": '"something-else"'}).status_code == 200


def test_page_and_fragment_are_different_bodies(client, town):
    page, fragment = get(client, "page"), get(client, "fragment")
    assert "<html" in page.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    assert page.headers["ETag"] != fragment.headers["ETag"]


def test_language_comes_from_accept_language(client, town):
    english = get(client, "page", {"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert english.headers["Cache-Control"] == "public, max-age=1"
    assert english.headers["ETag"] != get(client, "page").headers["ETag"]


@pytest.mark.parametrize("kind", ["page", "fragment", "ics"])
def test_a_visitor_with_a_session_gets_a_private_response(client, town, kind):
    """The language chosen with ?lang= is remembered in the session cookie: that response
    sets the cookie, and later ones depend on it, so neither is public."""
    chosen = client.get(LISTINGS[kind] + ("&" if "?" in LISTINGS[kind] else "?") + "lang=en",
                        headers=HTMX if kind == "fragment" else {})
    assert chosen.headers.getlist("Set-Cookie")
    assert chosen.headers["Cache-Control"] == "private" and "ETag" not in chosen.headers
    later = get(client, kind)  # the test client sends the cookie
    assert later.headers["Cache-Control"] == "private" and "ETag" not in later.headers
    assert "cookie" in vary(later)
    if kind == "page":
        assert '<html lang="en">' in later.get_data(as_text=True)


def test_pages_with_personal_content_stay_uncached(client, town):
    catalogue = client.get("/")
    assert "public" not in catalogue.headers.get("Cache-Control", "")
    form = client.get("/offices/amt/services/pass/book",
                      query_string={"start": local_iso(DAY, 9)})
    assert "public" not in form.headers.get("Cache-Control", "")
