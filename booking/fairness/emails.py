"""One person, one address: the key the cap per person and the draws count by."""

from __future__ import annotations

GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}


def normalise_email(address: str) -> str:
    """The address in the form that the same mailbox always has: lower case, without a
    ``+tag``; googlemail.com is gmail.com, whose local parts ignore dots.

    >>> normalise_email("Max.Muster+termin@GoogleMail.com")
    'maxmuster@gmail.com'
    """
    local, _, domain = address.strip().lower().rpartition("@")
    if not local:  # no "@": not an address; compare it as it is
        return domain
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        domain = "gmail.com"
        local = local.replace(".", "")
    return f"{local}@{domain}"
