"""Who is asking, and may they? Staff sessions (Flask-Login) and personal API tokens.

Every staff view declares the least role it needs and checks the office it touches:
clerks and managers reach only their own offices, administrators all of them.
"""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import abort, current_app, g, jsonify, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user

from booking.accounts import operations as accounts
from booking.accounts.models import ADMIN, User
from booking.db import db, utcnow
from booking.extensions import login_manager
from booking.offices.models import Office


@login_manager.user_loader
def _load_user(session_key: str) -> User | None:
    config = current_app.config
    return accounts.load_session_user(
        session_key, utcnow(), timedelta(minutes=config["STAFF_SESSION_IDLE_MINUTES"]),
        timedelta(hours=config["STAFF_SESSION_MAX_HOURS"]))


@login_manager.request_loader
def _load_user_from_token(req) -> User | None:
    header = req.headers.get("Authorization", "")
    if not req.path.startswith("/api/") or header[:7].lower() != "bearer ":
        return None
    user = accounts.user_for_api_token(header[7:].strip(), utcnow())
    g.authenticated_by_token = user is not None
    return user


def is_session_authenticated() -> bool:
    """The request's user comes from the browser session (the cookie), not from a
    personal API token: writes then need the CSRF token like any form. Decided by how
    the user was loaded, never by which headers the request carries."""
    return current_user.is_authenticated and not g.get("authenticated_by_token", False)


def log_in(user: User) -> None:
    """Start a new session of ``user`` in this browser (the caller clears the old one)."""
    accounts.start_session(user, utcnow())
    login_user(user)


def log_out() -> None:
    """End this browser's session on the server, so no copy of the cookie lives on."""
    accounts.end_session(current_user.session_key)
    logout_user()


@login_manager.unauthorized_handler
def _unauthorized():
    if request.path.startswith("/api/"):
        return jsonify({"error": gettext("Authentication required.")}), 401
    return redirect(url_for("staff.login", next=request.full_path.rstrip("?")))


def staff_user() -> User:
    return current_user._get_current_object()


def require_role(role: str):
    """Decorator: a logged-in (or token-bearing) active user with at least ``role``."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(role):
                abort(403)
            g.staff_page = True
            return view(*args, **kwargs)

        return wrapped

    return decorator


def can_access_office(user: User, office_id: str) -> bool:
    return user.role == ADMIN or office_id in user.office_ids


def office_for(user: User, office_id: str) -> Office:
    """The office, if ``user`` may work with it: 404 if unknown, 403 if not theirs."""
    office = db.session.get(Office, office_id)
    if office is None:
        abort(404)
    if not can_access_office(user, office_id):
        abort(403)
    return office


def offices_of(user: User) -> list[Office]:
    if user.role == ADMIN:
        return db.session.scalars(db.select(Office).order_by(Office.name)).all()
    return list(user.offices)
