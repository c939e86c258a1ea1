"""Kiosk views: the start page with a button per service, drawing a ticket, the ticket
page (Post/Redirect/Get), and check-in with the booking code. Thin: parse input, call
one operation, render; refusals are shown on the page, never as a 500."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from booking.assistant.answers import answer
from booking.db import db, utcnow
from booking.i18n import current_language
from booking.offices.models import Office, Service, office_services
from booking.qr import qr_svg
from booking.queueing import arrivals, errors
from booking.queueing.models import Ticket
from booking.queueing.waits import QueueView
from booking.scheduling.codes import format_code
from booking.scheduling.queries import get_appointment_by_code
from booking.web.assistant import question_arg
from booking.web.kiosk import bp
from booking.web.kiosk.forms import CheckInForm, DrawForm, parse_code
from booking.web.queue_presenters import queue_error_message, queue_error_status, status_url
from booking.web.ticket_status import service_queue_text, ticket_facts

IDLE_SECONDS = 30  # back to the start page after this long without a touch or key



def _office(office_id: str) -> Office:
    office = db.session.get(Office, office_id) if len(office_id) <= 64 else None
    if office is None:
        abort(404)
    return office


def _idle_seconds() -> int:
    """30 s; ``?idle=N`` (1–600) shortens it, e.g. for tests or a busy office."""
    seconds = request.args.get("idle", type=int)
    return min(max(seconds, 1), 600) if seconds else IDLE_SECONDS


def _page(template: str, office: Office, status: int = 200, *, idle: bool = True,
          get_endpoint: str | None = None, **context):
    """Render a kiosk page. ``idle``: return to the German start page after the idle
    time. ``get_endpoint``: where the language switch leads from a POST's response."""
    start_url = url_for("kiosk.start", office_id=office.id,
                        lang=current_app.config["BABEL_DEFAULT_LOCALE"])
    if get_endpoint is not None:
        context["switch_language_url"] = lambda language: url_for(
            get_endpoint, office_id=office.id, lang=language)
    return render_template(template, office=office, start_url=start_url,
                           idle_url=start_url if idle else None,
                           idle_seconds=_idle_seconds(), **context), status


def _services(office: Office) -> list[Service]:
    return list(db.session.scalars(
        select(Service).join(office_services, office_services.c.service_id == Service.id)
        .where(office_services.c.office_id == office.id)
        .order_by(Service.position, Service.id)))


def _start_page(office: Office, status: int = 200, error: str | None = None,
                get_endpoint: str | None = None):
    now = utcnow()
    view = QueueView(office, now)
    lang = current_language()
    services = [{"id": s.id, "name": s.text("name", lang),
                 "queue": service_queue_text(*view.for_new(s))} for s in _services(office)]
    # the German start page waits as it is; any other state goes back to it when idle
    idle = error is not None or lang != current_app.config["BABEL_DEFAULT_LOCALE"]
    return _page("kiosk/start.html", office, status, idle=idle, get_endpoint=get_endpoint,
                 form=DrawForm(), services=services, error=error,
                 closed=not arrivals.is_open_for(
                     office, None, now, always_open=current_app.config["QUEUE_ALWAYS_OPEN"]))


@bp.get("/<office_id>")
def start(office_id: str):
    return _start_page(_office(office_id))


@bp.post("/<office_id>/tickets")
def draw(office_id: str):
    office = _office(office_id)
    try:  # CSRF: checked by CSRFProtect before the view
        ticket, _ = arrivals.draw_ticket(office, request.form.get("service"), utcnow(),
                                         language=current_language(),
                                         always_open=current_app.config["QUEUE_ALWAYS_OPEN"])
    except errors.QueueError as exc:
        return _start_page(office, queue_error_status(exc), queue_error_message(exc),
                           get_endpoint="kiosk.start")
    return redirect(url_for("kiosk.ticket", office_id=office.id, ticket_id=ticket.id), 303)


@bp.get("/<office_id>/tickets/<ticket_id>")
def ticket(office_id: str, ticket_id: str):
    office = _office(office_id)
    found = db.session.get(Ticket, ticket_id) if len(ticket_id) <= 32 else None
    if found is None or found.office_id != office.id:
        abort(404)
    g.private_page = True  # the id is the key to the status page: no caching, no Referer
    url = status_url(found)
    label = gettext("QR code with the link to the live status of ticket %(number)s",
                    number=found.number)
    return _page("kiosk/ticket.html", office, ticket=found,
                 facts=ticket_facts(found, utcnow(), current_language()),
                 qr=qr_svg(url, label, scale=5))


@bp.route("/<office_id>/checkin", methods=["GET", "POST"])
def check_in(office_id: str):
    office = _office(office_id)
    form = CheckInForm()
    if request.method == "GET":  # ?code=… from the confirmation's QR code: prefilled only
        code = parse_code(request.args.get("code"))
        form.code.data = format_code(code) if code else ""
        return _page("kiosk/checkin.html", office, form=form)
    code = parse_code(form.code.data)
    if not code:
        form.code.errors = [gettext("Enter your booking code.")]
        return _page("kiosk/checkin.html", office, 422, form=form,
                     get_endpoint="kiosk.check_in")
    try:
        found, _ = arrivals.check_in(office, get_appointment_by_code(code), utcnow())
    except errors.QueueError as exc:
        form.code.errors = [queue_error_message(exc)]
        return _page("kiosk/checkin.html", office, queue_error_status(exc), form=form,
                     get_endpoint="kiosk.check_in")
    return redirect(url_for("kiosk.ticket", office_id=office.id, ticket_id=found.id), 303)


@bp.get("/<office_id>/assistant")
def assistant(office_id: str):
    """Questions at the kiosk: answered about this office when they name none; links
    are shown as text only (the kiosk stays on its own pages)."""
    office = _office(office_id)
    question, error = question_arg()
    found = answer(question, current_language(), utcnow(), office.id) if question and not error else None
    samples = [gettext("What does a passport cost?"), gettext("Opening hours"),
               gettext("What do I need to bring to register a change of address?")]
    return _page("kiosk/assistant.html", office, 422 if error else 200,
                 idle=True, question=question, error=error, answer=found, samples=samples)


@bp.errorhandler(CSRFError)
def _form_expired(exc: CSRFError):
    """A kiosk never shows a dead end: the page again, with the form renewed."""
    office_id = (request.view_args or {}).get("office_id", "")
    office = db.session.get(Office, office_id) if len(office_id) <= 64 else None
    if office is None:
        return current_app.handle_http_exception(NotFound())
    message = gettext("The page had expired. Please try again.")
    if request.endpoint == "kiosk.check_in":
        form = CheckInForm()
        form.code.errors = [message]
        return _page("kiosk/checkin.html", office, 400, form=form,
                     get_endpoint="kiosk.check_in")
    return _start_page(office, 400, message, get_endpoint="kiosk.start")
