"""API keys for trusted portals: a manager issues one for their office (shown once) and
revokes it; both are audited. Bookings sent with a valid key need no proof of work."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from booking.db import utcnow
from booking.fairness import portal_keys
from booking.fairness.models import PortalKey
from booking.web.admin import bp
from booking.web.admin.views import in_office
from booking.web.auth import office_for, require_role, staff_user


class PortalKeyForm(FlaskForm):
    label = StringField(_l("Portal (who gets the key)"), validators=[
        DataRequired(_l("Please say who gets the key.")), Length(max=100)],
        render_kw={"maxlength": 100})


def _page(office, form, status=200, new_key=None):
    return render_template("admin/portal_keys.html", office=office, form=form,
                           keys=portal_keys.get_office_keys(office), new_key=new_key), status


@bp.route("/offices/<office_id>/portal-keys/", methods=["GET", "POST"])
@require_role("manager")
def portal_keys_page(office_id: str):
    office = office_for(staff_user(), office_id)
    form = PortalKeyForm()
    if not form.validate_on_submit():
        return _page(office, form, 422 if form.errors else 200)
    _, key = portal_keys.issue_key(office, " ".join(form.label.data.split()), staff_user(),
                                   utcnow())
    # shown on this answer only (no redirect: the key is in no session or URL; the
    # page is no-store as every staff page)
    return _page(office, PortalKeyForm(formdata=None), new_key=key)


@bp.post("/offices/<office_id>/portal-keys/<int:key_id>/revoke")
@require_role("manager")
def portal_key_revoke(office_id: str, key_id: int):
    office = office_for(staff_user(), office_id)
    row = in_office(PortalKey, key_id, office)  # the CSRF token is checked globally
    if portal_keys.revoke_key(row, staff_user(), utcnow()):
        flash(gettext("The API key “%(label)s” was revoked. It no longer works.",
                      label=row.label), "success")
    return redirect(url_for("admin.portal_keys_page", office_id=office.id), 303)
