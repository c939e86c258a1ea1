"""The audit log: who changed what and when, in words and in local time.

Actions, entities and field names are shown with their translated labels
(:mod:`booking.audit.labels`); times, dates and times of day stored in the values are
shown in the time zone of the entry's office (the town's configured one for entries of
no office), a closure's start and end as one period.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import func, select

from booking import i18n
from booking.audit import labels
from booking.audit.models import AuditEntry
from booking.db import db
from booking.i18n import current_language
from booking.offices.models import Office
from booking.web.admin import bp
from booking.web.admin.forms import WEEKDAYS
from booking.web.auth import office_for, require_role, staff_user

AUDIT_PAGE_SIZE = 50
INSTANTS = {"starts_at", "ends_at", "start_at", "end_at", "opens_at", "closes_at"}  # ISO, offset
DATES = {"valid_from", "valid_until", "first_day", "last_day"}
TIMES = {"start_time", "end_time"}


def _temporal(key: str, value: str, tz: ZoneInfo, lang: str) -> str | None:
    try:
        if key in INSTANTS:
            instant = datetime.fromisoformat(value)
            return i18n.local_datetime(instant, tz, lang) if instant.tzinfo else None
        if key in DATES:
            return i18n.local_date(date.fromisoformat(value), lang, "medium")
        if key in TIMES:
            return time.fromisoformat(value).strftime("%H:%M")
    except ValueError:
        return None
    return None


def show_value(key: str, value, tz: ZoneInfo, lang: str) -> str:
    """One stored value of field ``key`` as the log shows it."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list):
        return ", ".join(show_value(key, v, tz, lang) for v in value) or "–"
    if key == "fee_cents" and isinstance(value, int):
        return i18n.fee(value, lang)
    if key == "weekdays" and isinstance(value, str):
        names = {choice.value: str(choice.label) for choice in WEEKDAYS}
        return ", ".join(names.get(d, d) for d in value) or "–"
    if isinstance(value, str):
        return (labels.value_label(key, value) or _temporal(key, value, tz, lang) or value)
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _side(values: dict | None, entity: str, tz: ZoneInfo, lang: str) -> dict[str, str] | None:
    if values is None:
        return None
    values = dict(values)
    if entity == "closure" and {"starts_at", "ends_at"} <= values.keys():
        try:
            starts_at, ends_at = (datetime.fromisoformat(values.pop(k))
                                  for k in ("starts_at", "ends_at"))
            values["period"] = i18n.period(starts_at, ends_at, tz, lang)
        except (TypeError, ValueError):
            pass
    return {key: show_value(key, value, tz, lang) if key != "period" else value
            for key, value in values.items()}


def audit_rows(entries, tz_of) -> list[dict]:
    """The entries as the log's rows: labels and values in words, in the time zone
    ``tz_of(entry)``."""
    lang = current_language()
    rows = []
    for entry in entries:
        tz = tz_of(entry)
        before = _side(entry.before, entry.entity, tz, lang)
        after = _side(entry.after, entry.entity, tz, lang)
        keys = sorted(set(before or {}) | set(after or {}),
                      key=lambda k: (k != "period", labels.field_label(k)))
        changes = [(labels.field_label(key),
                    before.get(key, "–") if before is not None else None,
                    after.get(key, "–") if after is not None else None) for key in keys]
        rows.append({"entry": entry, "at": i18n.local_datetime(entry.at, tz, lang),
                     "action": labels.action_label(entry.action),
                     "entity": labels.entity_label(entry.entity), "changes": changes})
    return rows


def _time_zones(entries) -> dict[str, ZoneInfo]:
    ids = {e.office_id for e in entries if e.office_id}
    if not ids:
        return {}
    rows = db.session.execute(select(Office.id, Office.timezone).where(Office.id.in_(ids)))
    return {office_id: ZoneInfo(name) for office_id, name in rows}


def _audit_page(office: Office | None):
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    page = page if 0 < page < 100000 else 1
    query = select(AuditEntry)
    if office is not None:
        query = query.where(AuditEntry.office_id == office.id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    entries = db.session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(AUDIT_PAGE_SIZE).offset((page - 1) * AUDIT_PAGE_SIZE)
    ).all()
    town_tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    zones = {office.id: office.tz} if office else _time_zones(entries)
    pages = max(1, -(-total // AUDIT_PAGE_SIZE))
    values = {"office_id": office.id} if office else {}
    endpoint = "admin.audit" if office else "admin.audit_all"
    return render_template(
        "admin/audit.html", office=office,
        rows=audit_rows(entries, lambda e: zones.get(e.office_id, town_tz)),
        page=page, pages=pages,
        prev_url=url_for(endpoint, page=page - 1, **values) if page > 1 else None,
        next_url=url_for(endpoint, page=page + 1, **values) if page < pages else None,
    )


@bp.get("/offices/<office_id>/audit")
@require_role("manager")
def audit(office_id: str):
    return _audit_page(office_for(staff_user(), office_id))


@bp.get("/audit")
@require_role("admin")
def audit_all():
    return _audit_page(None)
