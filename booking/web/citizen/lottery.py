"""Citizen pages of a lottery release: the announcement, entering, and confirming the
entry's email address (the emailed link shows a button; only pressing it, a POST,
confirms: mail scanners that follow links confirm nothing)."""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext
from wtforms import SelectChoice

from booking import i18n
from booking.db import db, utcnow
from booking.fairness import lottery as lotteries
from booking.fairness.lottery_models import Lottery
from booking.i18n import current_language
from booking.web import bot_check
from booking.web.citizen import bp
from booking.web.citizen.forms import ConfirmForm, LotteryEntryForm


def describe(lottery: Lottery, now: datetime) -> dict:
    """What the pages say about a lottery, prepared: days, offices, window, draw."""
    lang, tz = current_language(), lottery.offices[0].tz
    return {
        "id": lottery.id,
        "service": lottery.service.text("name", lang),
        "days": i18n.date_range(lottery.first_day, lottery.last_day, lang),
        "offices": ", ".join(office.name for office in lottery.offices),
        "office_links": [(office.name, url_for("citizen.office", office_id=office.id))
                         for office in lottery.offices],
        "opens": i18n.local_datetime(lottery.opens_at, tz, lang),
        "closes": i18n.local_datetime(lottery.closes_at, tz, lang),
        "before": now < lottery.opens_at,
        "taking_entries": lotteries.is_taking_entries(lottery, now),
        "url": url_for("citizen.lottery_enter", lottery_id=lottery.id),
    }


def announcements(service_id: str, now: datetime, office_id: str | None = None) -> list[dict]:
    """The announced lotteries of a service (at an office), for the service and
    calendar pages."""
    return [describe(lottery, now)
            for lottery in lotteries.get_announced(service_id, now, office_id)]


def _lottery_or_404(lottery_id: int) -> Lottery:
    lottery = db.session.get(Lottery, lottery_id)
    if lottery is None:
        abort(404)
    return lottery


@bp.route("/lotteries/<int:lottery_id>/", methods=["GET", "POST"])
def lottery_enter(lottery_id: int):
    lottery, now = _lottery_or_404(lottery_id), utcnow()
    form = LotteryEntryForm()
    form.offices.choices = [SelectChoice(office.id, f"{office.name}, {office.address}")
                            for office in lottery.offices]
    if not form.is_submitted():
        form.language.data = current_language()
        if len(lottery.offices) == 1:
            form.offices.data = [lottery.offices[0].id]
    info = describe(lottery, now)
    if info["taking_entries"] and form.validate_on_submit() and bot_check.check_form(form):
        try:
            lotteries.enter(lottery, form.name.data, form.email.data, form.language.data,
                            form.offices.data, [int(day) for day in form.weekdays.data],
                            form.times.data, now)
        except lotteries.AlreadyEntered:
            form.email.errors = [gettext("This email address has entered this draw already.")]
        except lotteries.WindowClosed:
            info["taking_entries"] = False
        else:
            flash(gettext("Almost done: we have sent you an email. Your entry only counts "
                          "once you confirm it with the link in that email."), "success")
            return redirect(url_for("citizen.lottery_enter", lottery_id=lottery.id), 303)
    return render_template("citizen/lottery_enter.html", form=form, lottery=info,
                           drawn=lottery.status != lotteries.OPEN,
                           service_id=lottery.service_id), 422 if form.errors else 200


@bp.route("/lottery-entries/<token>", methods=["GET", "POST"])
def lottery_verify(token: str):
    """GET shows the button and changes nothing; POST (with the CSRF token) confirms."""
    g.private_page = True  # the token is in the path: no-store, no Referer
    entry = lotteries.get_entry_by_token(token)
    if entry is None:
        abort(404)
    now, form = utcnow(), ConfirmForm()
    info = describe(entry.lottery, now)
    if form.validate_on_submit():
        try:
            lotteries.verify_entry(entry, now)
        except lotteries.WindowClosed:
            flash(gettext("The entry window has closed: the entry can no longer be "
                          "confirmed."), "error")
        else:
            flash(gettext("Thank you: your entry is confirmed. We will email you the result "
                          "after the draw."), "success")
        return redirect(url_for("citizen.lottery_verify", token=token), 303)
    return render_template("citizen/lottery_verify.html", form=form, lottery=info,
                           token=token, verified=entry.verified_at is not None,
                           taking_entries=info["taking_entries"]), 400 if form.errors else 200
