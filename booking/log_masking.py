"""Secrets and citizens' data out of access logs: the manage token
(``/manage/<code>/<token>/…``) and the staff calendar-feed token
(``/staff/feed/<token>.ics``) are replaced by ``***``, and query strings are left out
(the clerk's day schedule is searched by a citizen's name: ``?q=…``).

Used by deploy/gunicorn.conf.py for the request line, the path and the Referer. The
app decodes percent-escapes and merges slashes before routing, so ``/%6Danage/…``,
``//manage/…`` and ``/manage/CODE//TOKEN`` all reach the manage page: the text is
normalised the same way before matching, and logged in that normalised form.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

_QUERY = re.compile(r"\?[^\s#]*")  # up to the end of the URL (escaped, so no spaces)
_SLASHES = re.compile(r"(?<!:)/{2,}")  # not the one after "https:"
_SECRETS = (
    (re.compile(r"(/manage/[^/?#\s]+/)[^/?#\s]+", re.IGNORECASE), r"\1***"),
    (re.compile(r"(/staff/feed/)[^/?#\s]+?(\.ics)?(?=[/?#\s]|$)", re.IGNORECASE), r"\1***\2"),
)


def mask_secrets(text: str) -> str:
    """``text`` (a request line, path or URL) without its query string, percent-decoded,
    with runs of slashes merged, and every manage or feed token replaced by ``***``."""
    text = _QUERY.sub("", text)  # before decoding: an escaped space would end the match
    for _ in range(5):  # decode until nothing changes (double encoding included)
        decoded = unquote(text, errors="replace")
        if decoded == text:
            break
        text = decoded
    text = _SLASHES.sub("/", text.replace("\\", "/"))
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text
