"""Citizen pages of an invitation (the link in its email): book with the details filled
in and a few free times suggested, decline, or opt out of further invitations.

Links in emails only show a page; what changes anything is a button (a POST), so mail
scanners that follow links neither decline nor opt out.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from booking.db import utcnow
from booking.fairness.emails import normalise_email
from booking.i18n import current_language
from booking.invitations import responses
from booking.scheduling import holds, operations, visits
from booking.scheduling.errors import KeyReused, NotBookable, SlotTaken
from booking.scheduling.idempotency import new_key
from booking.web import bot_check, fairness
from booking.web.citizen import bp
from booking.web.citizen.forms import BookingForm, ConfirmForm
from booking.web.citizen.pages import parse_start


def _invitation_or_404(invitation_id: int, token: str):
    g.private_page = True  # the token is in the address: no-store, no Referer
    return responses.get_invitation(invitation_id, token) or abort(404)


def _links(invitation, token: str) -> dict:
    values = {"invitation_id": invitation.id, "token": token}
    return {"page_url": url_for("citizen.invitation", **values),
            "decline_url": url_for("citizen.invitation_decline", **values),
            "opt_out_url": url_for("citizen.invitation_opt_out", **values)}


@bp.get("/invitations/<int:invitation_id>/<token>")
def invitation(invitation_id: int, token: str):
    invitation = _invitation_or_404(invitation_id, token)
    now = utcnow()
    offered = invitation.service in invitation.office.services
    suggested = responses.suggestions(invitation, now) if invitation.is_open else []
    return render_template("citizen/invitation.html", invitation=invitation, token=token,
                           suggested=suggested, offered=offered, lang=current_language(),
                           **_links(invitation, token))


@bp.route("/invitations/<int:invitation_id>/<token>/book", methods=["GET", "POST"])
def invitation_book(invitation_id: int, token: str):
    invitation = _invitation_or_404(invitation_id, token)
    office, service = invitation.office, invitation.service
    page = url_for("citizen.invitation", invitation_id=invitation.id, token=token)
    if not invitation.is_open or service not in office.services:
        return redirect(page, 303)
    form = BookingForm()
    start_at = parse_start(form.start.data if request.method == "POST"
                            else request.args.get("start"))
    form.start.data = start_at.isoformat()
    if request.method == "GET":
        form.name.data, form.email.data = invitation.name, invitation.email
        if not operations.is_offered(office, visits.single(service), start_at, utcnow()):
            flash(gettext("This time can no longer be booked. Please choose another time."),
                  "error")
            return redirect(page, 303)
    status = 200
    if form.validate_on_submit() and bot_check.check_form(form, bound_to=form.key.data):
        now = utcnow()
        options = fairness.booking_options(office, now)
        if normalise_email(form.email.data) == invitation.email_key:
            options["hold_until"] = None  # the invitation's link proves the address
        citizen = operations.Citizen(form.name.data, form.email.data, form.phone.data, current_language())
        try:
            appointment, manage_token = operations.book_appointment(
                office, visits.single(service), start_at, citizen, now, key=form.key.data,
                **options)
        except (NotBookable, SlotTaken):
            flash(gettext("Sorry, this time was just booked by someone else. "
                          "Please choose another time."), "error")
            return redirect(page, 303)
        except holds.CapReached as exc:
            form.email.errors = [fairness.cap_message(exc.limit)]
        except KeyReused:
            flash(gettext("This form was already used for a booking with other details. "
                          "To book another appointment, please send it again."), "error")
            form.key.data = new_key()
            status = 422
        else:
            responses.mark_booked(invitation, appointment, now)
            if appointment.is_held:
                flash(gettext("Your appointment is reserved. Please confirm it with the link "
                              "in the email we have sent you."), "success")
            else:
                flash(gettext("Your appointment is booked. We have sent you a confirmation "
                              "by email."), "success")
            return redirect(url_for("citizen.manage", code=appointment.code,
                                    token=manage_token, new=1), 303)
    if form.errors:
        status = 422
    return render_template(
        "citizen/book.html", form=form, office=office, service=service, start_at=start_at,
        end_at=start_at + timedelta(minutes=service.duration_minutes),
        release_rule=fairness.release_rule(office), lang=current_language(), back_url=page,
        action=url_for("citizen.invitation_book", invitation_id=invitation.id, token=token),
    ), status


def _answer(invitation_id: int, token: str, kind: str):
    invitation = _invitation_or_404(invitation_id, token)
    form = ConfirmForm()
    done = False
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        change = responses.decline if kind == "decline" else responses.opt_out
        done = change(invitation, utcnow())
    return render_template("citizen/invitation_answer.html", invitation=invitation,
                           token=token, form=form, kind=kind, done=done, lang=current_language(),
                           opted_out=kind == "opt_out" and responses.has_opted_out(invitation),
                           **_links(invitation, token))


@bp.route("/invitations/<int:invitation_id>/<token>/decline", methods=["GET", "POST"])
def invitation_decline(invitation_id: int, token: str):
    return _answer(invitation_id, token, "decline")


@bp.route("/invitations/<int:invitation_id>/<token>/opt-out", methods=["GET", "POST"])
def invitation_opt_out(invitation_id: int, token: str):
    return _answer(invitation_id, token, "opt_out")
