"""The assistant's FAQ: questions and answers in German and English. Managers edit their
office's entries; administrators also the town-wide ones. Every change is audited."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from booking.accounts.models import ADMIN
from booking.assistant import faq
from booking.assistant.models import FaqEntry
from booking.db import db, utcnow
from booking.web.admin import bp
from booking.web.auth import office_for, require_role, staff_user

TOWN = "town"


class FaqForm(FlaskForm):
    scope = SelectField(_l("For"), validators=[Optional()])
    question_de = StringField(_l("Question (German)"), validators=[
        DataRequired(_l("Please enter the question.")), Length(max=300)])
    answer_de = TextAreaField(_l("Answer (German)"), validators=[
        DataRequired(_l("Please enter the answer.")), Length(max=2000)])
    question_en = StringField(_l("Question (English)"), validators=[Optional(),
                                                                     Length(max=300)])
    answer_en = TextAreaField(_l("Answer (English)"), validators=[Optional(),
                                                                  Length(max=2000)])


def _form(office, entry: FaqEntry | None = None) -> FaqForm:
    form = FaqForm(obj=entry)
    form.scope.choices = [(office.id, gettext("This office only"))]
    if staff_user().role == ADMIN:
        form.scope.choices.append((TOWN, gettext("The whole town (all offices)")))
    if entry is not None and not form.is_submitted():
        form.scope.data = entry.office_id or TOWN
    return form


def _editable(office, entry_id: int) -> FaqEntry:
    entry = db.session.get(FaqEntry, entry_id)
    if entry is None or entry.office_id not in (office.id, None):
        abort(404)
    if entry.office_id is None and staff_user().role != ADMIN:
        abort(403)  # town-wide entries: administrators
    return entry


def _values(form: FaqForm) -> dict:
    return {name: getattr(form, name).data or "" for name in faq.FIELDS}


@bp.route("/offices/<office_id>/faq/", methods=["GET", "POST"])
@require_role("manager")
def faq_entries(office_id: str):
    office = office_for(staff_user(), office_id)
    form = _form(office)
    if form.validate_on_submit():
        scope = None if form.scope.data == TOWN and staff_user().role == ADMIN else office.id
        faq.save_entry(None, _values(form), scope, staff_user(), utcnow())
        flash(gettext("The question was added."), "success")
        return redirect(url_for("admin.faq_entries", office_id=office.id), 303)
    return render_template("admin/faq.html", office=office, form=form,
                           entries=faq.get_entries(office.id), is_admin=staff_user().role == ADMIN,
                           entry=None), 422 if form.errors else 200


@bp.route("/offices/<office_id>/faq/<int:entry_id>", methods=["GET", "POST"])
@require_role("manager")
def faq_entry(office_id: str, entry_id: int):
    office = office_for(staff_user(), office_id)
    entry = _editable(office, entry_id)
    form = _form(office, entry)
    if form.validate_on_submit():
        faq.save_entry(entry, _values(form), entry.office_id, staff_user(), utcnow())
        flash(gettext("The question was saved."), "success")
        return redirect(url_for("admin.faq_entries", office_id=office.id), 303)
    return render_template("admin/faq.html", office=office, form=form, entries=None,
                           is_admin=staff_user().role == ADMIN,
                           entry=entry), 422 if form.errors else 200


@bp.post("/offices/<office_id>/faq/<int:entry_id>/delete")
@require_role("manager")
def faq_delete(office_id: str, entry_id: int):
    office = office_for(staff_user(), office_id)
    faq.delete_entry(_editable(office, entry_id), staff_user(), utcnow())
    flash(gettext("The question was deleted."), "success")
    return redirect(url_for("admin.faq_entries", office_id=office.id), 303)
