"""Public information pages: each office's page (hours, closures and holidays of the
coming weeks, directions, accessibility, contact, services), the imprint, and what BITV
2.0 asks for besides WCAG: an explanation in Leichte Sprache and in German Sign Language.
"""

from __future__ import annotations

import mimetypes
import os
from dataclasses import dataclass
from datetime import time
from urllib.parse import urlsplit

from babel.dates import get_day_names
from flask import abort, current_app, render_template, send_file, url_for
from flask_babel import gettext
from werkzeug.security import safe_join

from booking import i18n
from booking.db import db, utcnow
from booking.i18n import current_language
from booking.offices.hours import LocalPeriod
from booking.offices.info import get_office_hours, osm_url
from booking.offices.models import Office
from booking.web import CSP, caching
from booking.web.citizen import bp
from booking.web.citizen.notice import privacy_notice

MEDIA_MAX_AGE = 3600  # the sign language video and captions: cached by browsers for an hour



def _clock(value: time) -> str:
    return "24:00" if value == time.max else value.strftime("%H:%M")


def hours_text(periods: tuple[LocalPeriod, ...]) -> str:
    """'08:00 bis 12:00 Uhr, 14:00 bis 16:00 Uhr' or 'closed'."""
    if not periods:
        return gettext("closed")
    return ", ".join(gettext("%(start)s to %(end)s", start=_clock(a), end=_clock(b))
                     for a, b in periods)


@bp.get("/offices/<office_id>/")
def office(office_id: str):
    office = db.session.get(Office, office_id) or abort(404)
    lang = current_language()
    found = get_office_hours(office, utcnow(), lang)
    days = get_day_names("wide", locale=i18n.format_locale(lang))
    weekly = [(days[w.number - 1], hours_text(w.periods)) for w in found.weekly]
    changes = [{
        "day": i18n.local_date(d.day, lang),
        "hours": hours_text(d.periods),
        "holiday": d.holiday,
        "closures": [r for r in d.closures if r],
        "closed": not d.periods,
    } for d in found.deviations]
    return caching.public(current_app.make_response(render_template(
        "citizen/office.html", office=office, lang=lang, weekly=weekly, changes=changes,
        first_day=found.first_day, last_day=found.last_day, osm_url=osm_url(office),
        transport=office.text("transport", lang),
        accessibility=office.text("accessibility", lang))), max_age=60)


@bp.get("/impressum")
def imprint():
    return render_template("citizen/imprint.html")


@bp.get("/leichte-sprache")
def easy_read():
    return render_template("citizen/easy_read.html")


# ---------------------------------------------------------------- sign language


@dataclass(frozen=True)
class Media:
    src: str
    type: str | None
    path: str | None  # a file of ours; None: a URL on the town's server


def _media(setting: str, endpoint: str) -> Media | None:
    value = current_app.config.get(setting) or ""
    if not value:
        return None
    if urlsplit(value).scheme in ("http", "https"):
        return Media(value, mimetypes.guess_type(urlsplit(value).path)[0], None)
    path = safe_join(current_app.instance_path, value)
    if path is None or not os.path.isfile(path):
        current_app.logger.warning("%s: no such file in the instance folder: %s", setting, value)
        return None
    kind = "text/vtt" if setting == "DGS_VIDEO_CAPTIONS" else mimetypes.guess_type(path)[0]
    return Media(url_for(endpoint), kind, path)


@bp.get("/gebaerdensprache")
def sign_language():
    video = _media("DGS_VIDEO", "citizen.sign_language_video")
    captions = _media("DGS_VIDEO_CAPTIONS", "citizen.sign_language_captions") if video else None
    response = current_app.make_response(render_template(
        "citizen/sign_language.html", video=video, captions=captions))
    if video and video.path is None:
        # the town's own server, and only for media; everything else stays 'self'
        parts = urlsplit(video.src)
        response.headers["Content-Security-Policy"] = (
            f"{CSP}; media-src 'self' {parts.scheme}://{parts.netloc}")
    return response


def _send(setting: str, endpoint: str):
    media = _media(setting, endpoint)
    if media is None or media.path is None:
        abort(404)
    # conditional: ETag, Last-Modified and byte ranges (players seek with Range requests)
    return send_file(media.path, mimetype=media.type, conditional=True, max_age=MEDIA_MAX_AGE)


@bp.get("/gebaerdensprache/video")
def sign_language_video():
    return _send("DGS_VIDEO", "citizen.sign_language_video")


@bp.get("/gebaerdensprache/untertitel.vtt")
def sign_language_captions():
    return _send("DGS_VIDEO_CAPTIONS", "citizen.sign_language_captions")


@bp.get("/accessibility")
def accessibility():
    return render_template("citizen/accessibility.html")


@bp.get("/privacy")
def privacy():
    return render_template("citizen/privacy.html", notice=privacy_notice(current_app.config))
