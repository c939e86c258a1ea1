"""axe-core finds nothing on the invitation pages, in German and English: the back
office's invitations page (with the errors of a rejected file and with counts), and the
citizen's invitation (suggested times), the prefilled booking form, and the decline and
opt-out pages before and after their button."""

from __future__ import annotations

from datetime import timedelta

import pytest

from booking.db import utcnow
from booking.invitations import stats
from booking.invitations.models import SENT, Invitation
from booking.offices.models import Office
from booking.scheduling import codes
from tests.browser.support import html_lang, log_in, main_button, post_and_check, visit
from tests.factories import add_user, cheap_hashing, make_town

pytestmark = pytest.mark.browser


@pytest.fixture
def town(ctx):
    office = make_town(ctx)
    ctx.rollback()
    return office


@pytest.fixture(params=["de", "en"])
def lang(request):
    return request.param


@pytest.fixture
def a11y_page(new_page, lang):
    return new_page(locale="de-DE" if lang == "de" else "en-GB", bypass_csp=True)


def _sent_invitation(ctx, lang) -> str:
    token, now = codes.new_token(), utcnow()
    invitation = Invitation(office_id="amt", service_id="pass", name="Erika Mustermann",
                            email="erika@example.org", email_key="erika@example.org",
                            due_date=(now + timedelta(days=30)).date(), language=lang,
                            status=SENT, token_hash=codes.hash_token(token), created_at=now,
                            sent_at=now)
    ctx.add(invitation)
    ctx.flush()
    stats.count(ctx.get(Office, "amt"), "pass", now, "sent")
    path = f"/invitations/{invitation.id}/{token}"
    ctx.commit()
    return path


def test_citizen_invitation_pages(a11y_page, lang, ctx, town):
    page, path = a11y_page, _sent_invitation(ctx, lang)
    visit(page, path, label="an invitation with suggested times")
    assert html_lang(page) == lang
    page.locator("ul.suggested-slots a").first.click()
    page.wait_for_load_state()
    assert page.input_value("#name") == "Erika Mustermann"
    visit(page, page.url, label="the prefilled booking form")
    visit(page, f"{path}/decline", label="decline an invitation")
    post_and_check(page, main_button(page, "/decline"), 200, "an invitation declined")
    visit(page, f"{path}/opt-out", label="opt out of invitations")
    post_and_check(page, main_button(page, "/opt-out"), 200, "opted out")


def test_back_office_invitations_page(a11y_page, lang, ctx, town, monkeypatch):
    cheap_hashing(monkeypatch)
    _sent_invitation(ctx, lang)  # counts and a row in the list
    page = a11y_page
    log_in(page, add_user(ctx, "manager", "amt"))
    visit(page, "/admin/offices/amt/invitations/", label="invitations in the back office")
    page.set_input_files("#file", files=[{
        "name": "liste.csv", "mimeType": "text/csv",
        "buffer": "Name;E-Mail;Dienstleistung;Fällig am\nErika;kaputt;fundbuero;gestern\n"
                  .encode()}])
    post_and_check(page, main_button(page, "/invitations/upload"), 422,
                   "a rejected upload with its errors")
    assert page.locator("table.upload-problems tbody tr").count() == 3
    post_and_check(page, main_button(page, "/invitations/person"), 422,
                   "one person, with errors")
