"""The normalised email address that caps and draws count by."""

from __future__ import annotations

import pytest

from booking.fairness.emails import normalise_email


@pytest.mark.parametrize(("address", "key"), [
    ("Anna@Example.org", "anna@example.org"),
    ("anna+termin@example.org", "anna@example.org"),
    ("anna+a+b@example.org", "anna@example.org"),
    ("a.n.na@example.org", "a.n.na@example.org"),  # dots matter outside gmail
    ("A.n.Na+x@googlemail.com", "anna@gmail.com"),
    ("anna@GMAIL.com", "anna@gmail.com"),
    ("  anna@example.org ", "anna@example.org"),
    ('"odd@local"@example.org', '"odd@local"@example.org'),
])
def test_the_same_mailbox_gives_the_same_key(address, key):
    assert normalise_email(address) == key


def test_different_mailboxes_stay_different():
    assert normalise_email("anna@example.org") != normalise_email("anna@example.com")
    assert normalise_email("anna.b@example.org") != normalise_email("annab@example.org")
