"""Proactive invitations in the back office: a manager uploads the registry's list of
persons (CSV) or enters them one by one, sets how many weeks before the due date they
are invited, and sees the invitations and their counts. Managers reach their own
offices, administrators all; clerks none."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import DateField, EmailField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange

from booking.audit import log as audit
from booking.db import utcnow
from booking.i18n import current_language
from booking.invitations import stats, uploads
from booking.invitations.csv_file import MAX_LINES, clean_email, clean_name
from booking.web.admin import bp
from booking.web.admin.views import service_choices
from booking.web.auth import office_for, require_role, staff_user

UPLOAD_LIMIT = 2 * 1024 * 1024  # a registry's export of a few thousand persons
UPLOAD_ENDPOINT = "admin.invitations_upload"
LANGUAGE_CHOICES = [SelectChoice("de", _l("German")), SelectChoice("en", _l("English"))]


class UploadForm(FlaskForm):
    file = FileField(_l("CSV file"))


class PersonForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[
        DataRequired(_l("Please enter the name.")), Length(max=200)],
        render_kw={"maxlength": 200})
    email = EmailField(_l("Email address"), validators=[
        DataRequired(_l("Please enter the email address.")),
        Email(_l("Please enter a valid email address, e.g. name@example.org."))],
        render_kw={"maxlength": 254})
    service = SelectField(_l("Service"))
    due_date = DateField(_l("Due date (e.g. the day the ID card expires)"), validators=[
        InputRequired(_l("Please enter a date."))])
    language = SelectField(_l("Language of the email"), choices=LANGUAGE_CHOICES)


class SettingsForm(FlaskForm):
    invitation_weeks = IntegerField(
        _l("Invite this many weeks before the due date"),
        invalid_value_message=_l("Please enter a whole number."),
        validators=[InputRequired(_l("Please enter a number.")),
                    NumberRange(1, 26, _l("Please enter a number from %(min)s to %(max)s."))])
    invitation_language = SelectField(_l("Language of invitations (if the file names none)"),
                                      choices=LANGUAGE_CHOICES)


def problem_message(problem) -> str:
    """A problem of an uploaded file (booking.invitations.csv_file.CODES), in words."""
    messages = {
        "not_utf8": gettext("The file is not UTF-8 text. In Excel, save it as “CSV UTF-8”."),
        "empty": gettext("The file is empty."),
        "bad_csv": gettext("This line cannot be read as CSV (e.g. a quotation mark is not "
                           "closed, or it contains a NUL character)."),
        "missing_column": gettext("The header row has no column for this field."),
        "too_many_lines": gettext("The file has more than %(max)s lines. Please split it.",
                                  max=MAX_LINES),
        "name_missing": gettext("The name is missing."),
        "name_too_long": gettext("The name may have at most 200 characters."),
        "name_invalid": gettext("The name contains characters that are not allowed."),
        "email_missing": gettext("The email address is missing."),
        "email_invalid": gettext("This is not a valid email address."),
        "service_missing": gettext("The service is missing."),
        "service_unknown": gettext("This office offers no such service. Use its short name "
                                   "or its name as on the website."),
        "date_missing": gettext("The due date is missing."),
        "date_invalid": gettext("This is not a date. Write it as 31.12.2027 or 2027-12-31."),
        "date_past": gettext("The due date has passed."),
        "language_invalid": gettext("The language must be de or en."),
        "duplicate_in_file": gettext("The same person with the same service and due date is "
                                     "in line %(line)s already.", line=problem.other_line),
        "duplicate_existing": gettext("This person is invited for this service and due date "
                                      "already."),
    }
    return messages[problem.code]


def field_name(field: str | None) -> str:
    return {None: "–", "name": gettext("Name"), "email": gettext("Email address"),
            "service": gettext("Service"), "due_date": gettext("Due date"),
            "language": gettext("Language")}[field]


@bp.url_value_preprocessor
def _upload_limit(endpoint, values) -> None:
    """Runs before every before_request function (the CSRF check and the input check read
    the form): the file upload may be larger than MAX_CONTENT_LENGTH, up to UPLOAD_LIMIT."""
    if endpoint != UPLOAD_ENDPOINT:
        return
    if (request.content_length or 0) > UPLOAD_LIMIT:
        # the error page reads no part of the body (as Werkzeug leaves it after its limit)
        request.__dict__.update(form=ImmutableMultiDict(), files=ImmutableMultiDict())
        exc = RequestEntityTooLarge()
        exc.user_message = gettext(
            "The file is larger than %(size)s MiB. Please split it into smaller files.",
            size=UPLOAD_LIMIT // (1024 * 1024))
        raise exc
    request.max_content_length = UPLOAD_LIMIT


def _page(office, upload=None, person=None, settings=None, problems=None, status=200):
    person = person or PersonForm(formdata=None)
    person.service.choices = service_choices(office.services)
    if settings is None:
        settings = SettingsForm(formdata=None, obj=office)
    counts = [c for c in stats.get_counts([office.id])]
    names = {s.id: s.text("name", current_language()) for s in office.services}
    return render_template(
        "admin/invitations.html", office=office, upload=upload or UploadForm(formdata=None),
        person=person, settings=settings, problems=problems or [], counts=counts,
        service_names=names, invitations=uploads.get_office_invitations(office),
        lang=current_language(), limit_mib=UPLOAD_LIMIT // (1024 * 1024),
        problem_message=problem_message, field_name=field_name), status


@bp.get("/offices/<office_id>/invitations/")
@require_role("manager")
def invitations(office_id: str):
    return _page(office_for(staff_user(), office_id))


@bp.post("/offices/<office_id>/invitations/upload")
@require_role("manager")
def invitations_upload(office_id: str):
    office = office_for(staff_user(), office_id)
    form = UploadForm()
    if not form.validate_on_submit():
        return _page(office, upload=form, status=422)
    file = form.file.data
    if not file or not getattr(file, "filename", ""):
        form.file.errors = [gettext("Please choose a CSV file.")]
        return _page(office, upload=form, status=422)
    try:
        result = uploads.upload_file(office, file.read(), file.filename, staff_user(),
                                     utcnow())
    except uploads.UploadRejected as exc:
        g.commit_despite_error = True  # the audit entry of the rejected upload
        form.file.errors = [ngettext(
            "The file has %(num)d error. Nothing was imported.",
            "The file has %(num)d errors. Nothing was imported.", len(exc.problems))]
        return _page(office, upload=form, problems=exc.problems, status=422)
    message = ngettext("%(num)d person was imported.", "%(num)d persons were imported.",
                       result.imported)
    if result.opted_out:
        message += " " + ngettext(
            "%(num)d person was left out: they asked not to be invited for the service.",
            "%(num)d persons were left out: they asked not to be invited for the service.",
            result.opted_out)
    flash(message, "success")
    return redirect(url_for("admin.invitations", office_id=office.id), 303)


@bp.post("/offices/<office_id>/invitations/person")
@require_role("manager")
def invitations_person(office_id: str):
    office = office_for(staff_user(), office_id)
    form = PersonForm()
    form.service.choices = service_choices(office.services)
    if form.validate_on_submit():
        name, name_error = clean_name(form.name.data)
        email, email_error = clean_email(form.email.data)
        if name_error:
            form.name.errors = [gettext("The name contains characters that are not allowed.")]
        elif email_error:
            form.email.errors = [gettext("This is not a valid email address.")]
        elif form.due_date.data < utcnow().astimezone(office.tz).date():
            form.due_date.errors = [gettext("The due date has passed.")]
        else:
            try:
                uploads.add_person(office, name, email, form.service.data, form.due_date.data,
                                   form.language.data, staff_user(), utcnow())
            except uploads.AlreadyInvited:
                form.email.errors = [gettext("This person is invited for this service and "
                                             "due date already.")]
            except uploads.OptedOut:
                form.email.errors = [gettext("This person asked not to be invited for this "
                                             "service.")]
            else:
                flash(gettext("The person was added. The invitation is sent %(weeks)s weeks "
                              "before the due date.", weeks=office.invitation_weeks),
                      "success")
                return redirect(url_for("admin.invitations", office_id=office.id), 303)
    return _page(office, person=form, status=422)


@bp.post("/offices/<office_id>/invitations/settings")
@require_role("manager")
def invitations_settings(office_id: str):
    office = office_for(staff_user(), office_id)
    form = SettingsForm()
    if not form.validate_on_submit():
        return _page(office, settings=form, status=422)
    fields = ["invitation_weeks", "invitation_language"]
    before = audit.snapshot(office, fields)
    office.invitation_weeks, office.invitation_language = (form.invitation_weeks.data,
                                                           form.invitation_language.data)
    audit.record(staff_user(), "office.updated", "office", office.id, office_id=office.id,
                 before=before, after=audit.snapshot(office, fields), now=utcnow())
    flash(gettext("The settings were saved."), "success")
    return redirect(url_for("admin.invitations", office_id=office.id), 303)
