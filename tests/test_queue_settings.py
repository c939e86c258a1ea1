"""Back office: the walk-in queue settings of an office (priority window, recall cooldown,
recalls before a no-show, daily limit): validation, audit, who may change them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from booking.audit.models import AuditEntry
from booking.offices.models import Office
from tests.factories import (
    OFFICE_DATA,
    add_user,
    cheap_hashing,
    count_rows,
    log_in_with_password,
    session_csrf,
)

BASE = {**OFFICE_DATA, "lead_time_minutes": "120"}  # the stored values except the queue's
QUEUE = {"queue_window_minutes": "30", "queue_recall_cooldown_seconds": "45",
         "queue_max_recalls": "3", "queue_daily_limit": "120"}


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    cheap_hashing(monkeypatch)


def input_tag(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]* name="{name}"[^>]*>', page)
    assert match, f"no input {name}"
    return match.group(0)


def queue_settings(ctx) -> tuple:
    ctx.rollback()
    office = ctx.get(Office, "amt")
    values = (office.queue_window_minutes, office.queue_recall_cooldown_seconds,
              office.queue_max_recalls, office.queue_daily_limit)
    ctx.rollback()
    return values


def test_the_form_shows_the_queue_settings(ctx, manager):
    page = manager.get("/admin/offices/amt/").get_data(as_text=True)
    for name, value in (("queue_window_minutes", 15), ("queue_recall_cooldown_seconds", 30),
                        ("queue_max_recalls", 2)):
        tag = input_tag(page, name)
        assert ' required ' in tag and 'type="number"' in tag and f'value="{value}"' in tag
        assert f'aria-describedby="{name}-hint"' in tag
    limit = input_tag(page, "queue_daily_limit")
    assert "required" not in limit and 'value=""' in limit and 'min="1"' in limit
    assert "<legend>Walk-in queue</legend>" in page


def test_manager_changes_them_and_the_change_is_audited(ctx, manager):
    response = manager.post("/admin/offices/amt/", data={
        **BASE, **QUEUE, "csrf_token": session_csrf(manager)})
    assert response.status_code == 303
    assert queue_settings(ctx) == (30, 45, 3, 120)
    entry = ctx.scalar(select(AuditEntry).where(AuditEntry.action == "office.updated"))
    assert entry.user_email == "manager@teststadt.example" and entry.office_id == "amt"
    assert entry.before == {"queue_window_minutes": 15, "queue_recall_cooldown_seconds": 30,
                            "queue_max_recalls": 2, "queue_daily_limit": None}
    assert entry.after == {"queue_window_minutes": 30, "queue_recall_cooldown_seconds": 45,
                           "queue_max_recalls": 3, "queue_daily_limit": 120}
    ctx.rollback()
    # empty: no limit again; zero is allowed where it means "at once" or "never"
    response = manager.post("/admin/offices/amt/", data={
        **BASE, "queue_window_minutes": "0", "queue_recall_cooldown_seconds": "0",
        "queue_max_recalls": "0", "queue_daily_limit": " ", "csrf_token": session_csrf(manager)})
    assert response.status_code == 303
    assert queue_settings(ctx) == (0, 0, 0, None)
    page = manager.get("/admin/offices/amt/audit").get_data(as_text=True)
    assert "Walk-in tickets per day (empty: no limit)" in page and "120 → –" in page
    assert "queue_daily_limit" not in page  # a label, not the raw key


@pytest.mark.parametrize("field, value, message", [
    ("queue_window_minutes", "241", "Please enter a number from 0 to 240."),
    ("queue_window_minutes", "-1", "Please enter a number from 0 to 240."),
    ("queue_window_minutes", "", "Please enter a whole number."),
    ("queue_recall_cooldown_seconds", "601", "Please enter a number from 0 to 600."),
    ("queue_max_recalls", "11", "Please enter a number from 0 to 10."),
    ("queue_max_recalls", "2.5", "Please enter a whole number."),
    ("queue_daily_limit", "0", "Please enter a number from 1 to 100000, or leave the field "
                               "empty."),
    ("queue_daily_limit", "-3", "Please enter a number from 1 to 100000, or leave the field "
                                "empty."),
    ("queue_daily_limit", "zehn", "Please enter a whole number."),
])
def test_out_of_range_values_are_marked_at_the_field(ctx, manager, field, value, message):
    response = manager.post("/admin/offices/amt/", data={
        **BASE, **QUEUE, field: value, "csrf_token": session_csrf(manager)})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    tag = input_tag(page, field)
    assert f'aria-describedby="{field}-hint {field}-error"' in tag
    assert 'aria-invalid="true"' in tag and f'id="{field}-error"' in page
    assert page.count('aria-invalid="true"') == 1
    assert f'<li><a href="#{field}">' in page  # the error summary links to the field
    assert message in page
    assert queue_settings(ctx) == (15, 30, 2, None)
    assert count_rows(ctx, AuditEntry) == 0


def test_only_managers_of_the_office_and_admins(ctx, client, back_office):
    log_in_with_password(client, add_user(ctx, "clerk", "amt"))
    refused = client.post("/admin/offices/amt/", data={
        **BASE, **QUEUE, "csrf_token": session_csrf(client)})
    assert refused.status_code == 403
    other = client.application.test_client()
    log_in_with_password(other, add_user(ctx, "manager", "nord", name="nord-manager"))
    assert other.post("/admin/offices/amt/", data={
        **BASE, **QUEUE, "csrf_token": session_csrf(other)}).status_code == 403
    assert queue_settings(ctx) == (15, 30, 2, None)
    boss = client.application.test_client()
    log_in_with_password(boss, add_user(ctx, "admin"))
    assert boss.post("/admin/offices/amt/", data={
        **BASE, **QUEUE, "csrf_token": session_csrf(boss)}).status_code == 303
    assert queue_settings(ctx) == (30, 45, 3, 120)


def test_a_new_office_gets_them_too(ctx, admin):
    form = admin.get("/admin/offices/new").get_data(as_text=True)
    assert 'value="15"' in input_tag(form, "queue_window_minutes")
    assert 'value="2"' in input_tag(form, "queue_max_recalls")
    assert admin.post("/admin/offices/new", data={
        **BASE, **QUEUE, "office_id": "sued", "services": ["melde"],
        "csrf_token": session_csrf(admin)}).status_code == 303
    ctx.rollback()
    office = ctx.get(Office, "sued")
    assert (office.queue_window_minutes, office.queue_recall_cooldown_seconds,
            office.queue_max_recalls, office.queue_daily_limit) == (30, 45, 3, 120)
    entry = ctx.scalar(select(AuditEntry).where(AuditEntry.action == "office.created"))
    assert entry.after["queue_daily_limit"] == 120
    ctx.rollback()
