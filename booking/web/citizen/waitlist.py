"""Citizen pages of the waitlist: register a wish, look at or withdraw it, accept an offer.

Links in emails only show a page; what changes anything is a button (a POST), so mail
scanners that follow links neither withdraw a wish nor book an offer.
"""

from __future__ import annotations

from datetime import time, timedelta

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from wtforms import SelectChoice

from booking.db import db, utcnow
from booking.i18n import current_language
from booking.notifications.waitlist_mails import weekday_names, window_text
from booking.offices.models import Service
from booking.scheduling import visits
from booking.waitlist import offers, wishes
from booking.web import bot_check
from booking.web.citizen import bp
from booking.web.citizen.forms import AFTERNOON, CUSTOM, MORNING, ConfirmForm, WishForm


def _window(form: WishForm) -> tuple[time, time]:
    if form.window.data == MORNING:
        return wishes.MORNING
    if form.window.data == AFTERNOON:
        return wishes.AFTERNOON
    if form.window.data == CUSTOM:
        return form.from_time.data, form.to_time.data
    return wishes.ALL_DAY


@bp.route("/services/<service_id>/waitlist", methods=["GET", "POST"])
def waitlist(service_id: str):
    service = db.session.get(Service, service_id) or abort(404)
    offices = list(service.offices)
    if not offices:
        abort(404)
    form = WishForm()
    form.offices.choices = [SelectChoice(o.id, o.name) for o in offices]
    if request.method == "GET":
        chosen = request.args.get("office")
        form.offices.data = [chosen] if chosen in [o.id for o in offices] else [
            o.id for o in offices]
        form.language.data = current_language()
        persons = request.args.get("persons", type=int)  # from the service page's search
        if persons is not None and 1 <= persons <= visits.MAX_PERSONS_PER_LINE:
            form.persons.data = persons
    now = utcnow()
    latest = wishes.latest_until(offices, now)
    if form.validate_on_submit() and bot_check.check_form(form):
        chosen = [o for o in offices if o.id in form.offices.data]
        from_time, until_time = _window(form)
        wish = wishes.Wish(service, chosen, "".join(form.weekdays.data), from_time,
                           until_time, form.until.data, form.name.data, form.email.data,
                           form.language.data, form.persons.data or 1)
        try:
            row, token = wishes.register_wish(wish, now)
        except wishes.WishRejected as exc:
            fields = {"offices": form.offices, "weekdays": form.weekdays, "to": form.to_time,
                      "until": form.until, "persons": form.persons}
            for key, message in exc.errors.items():
                fields[key].errors = [message]
        else:
            flash(gettext("Your wish is registered. We have sent you a confirmation by "
                          "email."), "success")
            g.private_page = True  # the redirect carries the wish's token
            return redirect(url_for("citizen.waitlist_wish", wish_id=row.id, token=token), 303)
    return render_template("citizen/waitlist_form.html", form=form, service=service,
                           lang=current_language(), latest=latest,
                           today=now.astimezone(offices[0].tz).date()), (
                               422 if form.errors else 200)


def _wish_or_404(wish_id: int, token: str):
    g.private_page = True
    wish = wishes.get_wish(wish_id, token)
    if wish is None:
        abort(404)
    return wish


@bp.get("/waitlist/wishes/<int:wish_id>/<token>")
def waitlist_wish(wish_id: int, token: str):
    wish = _wish_or_404(wish_id, token)
    return render_template("citizen/waitlist_wish.html", wish=wish, token=token,
                           form=ConfirmForm(), lang=current_language(),
                           weekdays=weekday_names(wish.weekdays),
                           window=window_text(wish.from_time, wish.until_time))


@bp.post("/waitlist/wishes/<int:wish_id>/<token>/withdraw")
def waitlist_withdraw(wish_id: int, token: str):
    wish = _wish_or_404(wish_id, token)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if wishes.withdraw_wish(wish, utcnow()):
        flash(gettext("Your wish was withdrawn. We will not send you offers any more."),
              "success")
    return redirect(url_for("citizen.waitlist_wish", wish_id=wish.id, token=token), 303)


@bp.route("/waitlist/offers/<int:offer_id>/<token>", methods=["GET", "POST"])
def waitlist_offer(offer_id: int, token: str):
    g.private_page = True
    offer = offers.get_offer(offer_id, token) or abort(404)
    form = ConfirmForm()
    now = utcnow()
    outcome = None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            appointment, manage_token = offers.accept_offer(offer, now)
        except offers.SeatGone:
            outcome = "taken_meanwhile"
        except offers.OfferGone:
            outcome = "gone"
        else:
            flash(gettext("Your appointment is booked. We have sent you a confirmation by "
                          "email."), "success")
            return redirect(url_for("citizen.manage", code=appointment.code,
                                    token=manage_token, new=1), 303)
        g.commit_despite_error = True  # the offer is withdrawn for good
    lines = [visits.Line(offer.service, offer.wish.persons)]
    return render_template("citizen/waitlist_offer.html", offer=offer, form=form,
                           token=token, lang=current_language(), outcome=outcome, lines=lines,
                           end_at=offer.start_at + timedelta(
                               minutes=visits.visit_minutes(lines)),
                           is_open=offers.is_open(offer, now)), 409 if outcome else 200
