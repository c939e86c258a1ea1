"""Availability rules: list, create, edit, delete, with a live preview of the free slots
and of the confirmed appointments a change would strand."""

from __future__ import annotations

from datetime import time

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext

from booking import i18n
from booking.db import utcnow
from booking.extensions import htmx
from booking.i18n import current_language
from booking.offices import operations as ops
from booking.offices import rules as office_rules
from booking.offices.models import AvailabilityRule, Office
from booking.scheduling import slots, step_changes
from booking.web.admin import bp
from booking.web.admin.forms import (
    WEEKDAYS,
    RuleDeleteForm,
    RuleForm,
    format_ids,
    parse_ids,
)
from booking.web.admin.views import in_office, service_choices
from booking.web.auth import office_for, require_role, staff_user


def weekday_names(weekdays: str) -> str:
    names = {choice.value: choice.label for choice in WEEKDAYS}
    return ", ".join(str(names[d]) for d in sorted(weekdays) if d in names)


def decision_message(exc: ops.DecisionNeeded, form) -> str:
    if exc.keep_refused:
        return gettext("Appointments cannot keep seats of a deleted rule. Cancel them, or "
                       "edit the rule instead (e.g. let it end after them).")
    if form.decision.data in (ops.KEEP, ops.CANCEL):
        return gettext("The list of affected appointments has changed. Please check it and "
                       "decide again.")
    return gettext("Please decide what should happen to the appointments listed.")


def cancelled_message(count: int) -> str:
    return ngettext("%(num)d appointment was cancelled; the citizen was notified.",
                    "%(num)d appointments were cancelled; the citizens were notified.", count)


def _rule_form(office: Office, rule: AvailabilityRule | None) -> RuleForm:
    if request.method == "POST":
        form = RuleForm()
    elif rule is None:
        form = RuleForm(data={"weekdays": ["1", "2", "3", "4", "5"], "start_time": time(8),
                              "end_time": time(12), "capacity": 1,
                              "valid_from": utcnow().astimezone(office.tz).date()})
    else:
        form = RuleForm(data={
            "weekdays": list(rule.weekdays), "start_time": rule.start_time,
            "end_time": rule.end_time, "valid_from": rule.valid_from,
            "valid_until": rule.valid_until, "capacity": rule.capacity,
            "services": [s.id for s in rule.services]})
    form.services.choices = service_choices(office.services)
    return form


def _proposed(form: RuleForm, rule: AvailabilityRule | None) -> slots.Rule:
    return slots.Rule(
        id=rule.id if rule else 0,
        weekdays=frozenset(int(d) for d in form.weekdays.data),
        start=form.start_time.data, end=form.end_time.data,
        valid_from=form.valid_from.data, valid_until=form.valid_until.data,
        capacity=form.capacity.data, service_ids=frozenset(form.services.data or ()),
    )


def _range_text(r: step_changes.TimeRange, tz) -> str:
    lang = current_language()
    span = f"{i18n.local_time(r.start_at, tz, lang)}–{i18n.local_time(r.end_at, tz, lang)}"
    if r.kind == step_changes.CHANGED:
        return ngettext("%(span)s: %(before)d → %(num)d place", "%(span)s: %(before)d → %(num)d places",
                        r.after, span=span, before=r.before)
    return ngettext("%(span)s (%(num)d slot)", "%(span)s (%(num)d slots)", r.steps, span=span)


def _summary(changes: step_changes.StepChanges) -> list[str]:
    parts = [ngettext("%(num)d slot added", "%(num)d slots added", changes.added),
             ngettext("%(num)d slot removed", "%(num)d slots removed", changes.removed)]
    if changes.changed:
        parts.append(ngettext("%(num)d slot with another number of places",
                              "%(num)d slots with another number of places", changes.changed))
    return parts


def changes_view(changes: step_changes.StepChanges, office: Office) -> dict:
    """The rule preview's changes as the template shows them: a summary, and per changed
    day one line per group of services with the same changes."""
    names = {s.id: s.text("name", current_language()) for s in office.services}
    days = [{"day": d.day, "lines": [
        # the services are only named when the change is not the same for all of them
        {"services": None if len(line.service_ids) == len(names)
         else ", ".join(names[i] for i in line.service_ids),
         "ranges": [(r.kind, _range_text(r, office.tz)) for r in line.ranges]}
        for line in d.lines]} for d in changes.days]
    return {"days": days, "summary": _summary(changes),
            "day_count": len(days)}


def _preview(office: Office, rule_id: int | None, proposed: slots.Rule | None) -> dict:
    now = utcnow()
    plan = office_rules.plan_rule_change(office, rule_id, proposed, now)
    changes, last_day = office_rules.preview_changes(office, rule_id, proposed, now)
    return {
        "changes": changes_view(changes, office),
        "last_day": last_day,
        "stranded": plan.stranded,
        "seen": format_ids(plan.stranded),
        "moves": len(plan.moves),
    }


def _urls(office: Office, rule: AvailabilityRule | None) -> dict:
    values = {"office_id": office.id, **({"rule_id": rule.id} if rule else {})}
    return {
        "action_url": url_for("admin.rule_edit" if rule else "admin.rule_new", **values),
        "preview_url": url_for("admin.rule_preview", **values),
    }


def _render_form(office, rule, form, preview, status):
    return render_template("admin/rule_form.html", office=office, rule=rule, form=form,
                           preview=preview, **_urls(office, rule)), status


def _edit(office: Office, rule: AvailabilityRule | None):
    form = _rule_form(office, rule)
    if not form.validate_on_submit():
        return _render_form(office, rule, form, None, 422 if form.errors else 200)
    proposed = _proposed(form, rule)
    if request.form.get("action") != "preview":
        try:
            saved, plan = office_rules.save_rule(
                office, rule, proposed, form.decision.data, parse_ids(form.seen.data),
                form.detail.data or "", staff_user(), utcnow())
        except ops.DecisionNeeded as exc:
            form.decision.errors = [decision_message(exc, form)]
        else:
            flash(gettext("The rule was saved."), "success")
            if plan.stranded and form.decision.data == ops.CANCEL:
                flash(cancelled_message(len(plan.stranded)), "success")
            return redirect(url_for("admin.rules", office_id=office.id), 303)
    preview = _preview(office, rule.id if rule else None, proposed)
    return _render_form(office, rule, form, preview, 422 if form.errors else 200)


@bp.get("/offices/<office_id>/rules/")
@require_role("manager")
def rules(office_id: str):
    office = office_for(staff_user(), office_id)
    rows = [{"rule": r, "weekdays": weekday_names(r.weekdays),
             "services": ", ".join(s.text("name", current_language()) for s in r.services)}
            for r in sorted(office.rules, key=lambda r: (r.valid_from, r.start_time, r.id))]
    return render_template("admin/rules.html", office=office, rows=rows)


@bp.route("/offices/<office_id>/rules/new", methods=["GET", "POST"])
@require_role("manager")
def rule_new(office_id: str):
    return _edit(office_for(staff_user(), office_id), None)


@bp.route("/offices/<office_id>/rules/<int:rule_id>", methods=["GET", "POST"])
@require_role("manager")
def rule_edit(office_id: str, rule_id: int):
    office = office_for(staff_user(), office_id)
    return _edit(office, in_office(AvailabilityRule, rule_id, office))


@bp.post("/offices/<office_id>/rules/preview", defaults={"rule_id": None})
@bp.post("/offices/<office_id>/rules/<int:rule_id>/preview")
@require_role("manager")
def rule_preview(office_id: str, rule_id: int | None):
    """The preview region for htmx (on every change of the form); without htmx, the whole
    form page with the preview, as the form's own "Preview" button shows it."""
    office = office_for(staff_user(), office_id)
    rule = in_office(AvailabilityRule, rule_id, office) if rule_id is not None else None
    form = _rule_form(office, rule)
    valid = form.validate()
    preview = _preview(office, rule_id, _proposed(form, rule)) if valid else None
    if htmx:
        return render_template("admin/_rule_preview.html", office=office, form=form,
                               preview=preview, partial=True)
    return _render_form(office, rule, form, preview, 200 if valid else 422)


@bp.route("/offices/<office_id>/rules/<int:rule_id>/delete", methods=["GET", "POST"])
@require_role("manager")
def rule_delete(office_id: str, rule_id: int):
    office = office_for(staff_user(), office_id)
    rule = in_office(AvailabilityRule, rule_id, office)
    form = RuleDeleteForm()
    if form.validate_on_submit():
        try:
            plan = office_rules.delete_rule(office, rule, form.decision.data,
                                   parse_ids(form.seen.data), form.detail.data or "",
                                   staff_user(), utcnow())
        except ops.DecisionNeeded as exc:
            form.decision.errors = [decision_message(exc, form)]
        else:
            flash(gettext("The rule was deleted."), "success")
            if plan.stranded:
                flash(cancelled_message(len(plan.stranded)), "success")
            return redirect(url_for("admin.rules", office_id=office.id), 303)
    # keeping appointments on a deleted rule is impossible: only offer to cancel them
    form.decision.choices = [c for c in form.decision.choices if c.value == ops.CANCEL]
    return render_template(
        "admin/rule_delete.html", office=office, rule=rule, form=form,
        weekdays=weekday_names(rule.weekdays), preview=_preview(office, rule.id, None),
    ), 422 if form.errors else 200
