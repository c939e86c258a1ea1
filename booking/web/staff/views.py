"""Staff session views: login, logout, password, dashboard."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import login_required

from booking.accounts import operations as accounts
from booking.db import utcnow
from booking.web.auth import log_in, log_out, offices_of, require_role, staff_user
from booking.web.staff import bp
from booking.web.staff.forms import ButtonForm, LoginForm, PasswordForm


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect to another site after login."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//") and "\\" not in target:
            return target
    return url_for("staff.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data,
                                         request.remote_addr, utcnow(),
                                         secret=current_app.config["SECRET_KEY"])
        except accounts.Throttled as exc:
            minutes = max(1, exc.retry_after // 60)
            form.password.errors = [gettext(
                "Too many failed attempts. Please wait %(minutes)s minutes and try again.",
                minutes=minutes)]
            return render_template("staff/login.html", form=form), 429
        if user is None:
            form.password.errors = [gettext("Email address or password is wrong.")]
            status = 401
            g.commit_despite_error = True  # the failed attempt must count
        else:
            language = session.get("lang")
            session.clear()  # no session fixation: a fresh session for the logged-in user
            if language:
                session["lang"] = language  # the chosen language survives the login
            log_in(user)
            return redirect(_safe_next(form.next.data), 303)
    elif form.errors:
        status = 422
    return render_template("staff/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    if ButtonForm().validate_on_submit():
        log_out()
        session.clear()
        flash(gettext("You are logged out."), "success")
    return redirect(url_for("staff.login"), 303)


@bp.route("/staff/password", methods=["GET", "POST"])
@require_role("clerk")
def password():
    user = staff_user()
    form = PasswordForm()
    if form.validate_on_submit():
        if not accounts.verify_password(user, form.current.data):
            form.current.errors = [gettext("The current password is wrong.")]
        else:
            accounts.change_password(user, form.new.data)  # ends all the user's sessions
            log_in(user)  # and this browser continues in a new one
            flash(gettext("Your password was changed. Other sessions were logged out."),
                  "success")
            return redirect(url_for("staff.dashboard"), 303)
    status = 422 if form.errors else 200
    return render_template("staff/password.html", form=form), status


@bp.get("/staff/")
@require_role("clerk")
def dashboard():
    user = staff_user()
    return render_template("staff/dashboard.html", user=user, offices=offices_of(user))
