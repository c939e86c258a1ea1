"""HTTP caching of public responses: nginx keeps them for a second (deploy/nginx).

A public response is the same for everyone who sends the same URL and the request
headers it names in ``Vary``; nothing from the session goes into it.
"""

from __future__ import annotations

from flask import current_app, request, session
from flask.sessions import SecureCookieSessionInterface


def public(response, max_age: int = 1):
    """Mark ``response`` cacheable for ``max_age`` seconds with a strong ETag of its body,
    and answer a matching ``If-None-Match`` with 304. Returns the response.

    Only for a request without the session cookie that left the session empty: then the
    response depends on nothing personal and goes out without ``Set-Cookie`` and without
    ``Vary: Cookie`` (see ``SessionInterface``). A visitor with a session (a language
    chosen, a flashed message) may see their own content: that response stays private.
    """
    if current_app.config["SESSION_COOKIE_NAME"] in request.cookies or session.modified:
        response.cache_control.private = True
        return response
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    response.add_etag()
    return response.make_conditional(request)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus ``Vary: Cookie`` on public responses.

    Flask adds ``Vary: Cookie`` whenever anything looked at the session (flask-login does
    on every request); for a public response the session was empty and stayed so.
    """

    def save_session(self, app, session, response) -> None:
        if not (response.cache_control.public and not session.modified):
            super().save_session(app, session, response)
