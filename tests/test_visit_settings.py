"""The back office configures appointments for several services and persons: the time
per further person of a service, and per office the most persons and services in one
appointment and which offered services may share one."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from booking.audit.models import AuditEntry
from booking.offices.models import Office, Service, office_services
from tests.factories import OFFICE_DATA, plain_text, session_csrf

SERVICE = {"name_de": "Reisepass beantragen", "name_en": "Apply for a passport",
           "duration_minutes": "30", "queue_prefix": "A", "fee": "70"}


def _marked(html: str, field_id: str) -> bool:
    tag = re.search(rf'<input[^>]*id="{field_id}"[^>]*>', html)
    return tag is not None and 'aria-invalid="true"' in tag.group(0)


def _combinable(ctx, office_id: str = "amt") -> dict[str, bool]:
    rows = ctx.execute(select(office_services.c.service_id, office_services.c.combinable)
                       .where(office_services.c.office_id == office_id)).all()
    ctx.rollback()
    return dict(rows)


def _limits(ctx, office_id: str = "amt") -> tuple[int, int]:
    """The office's most persons and services per appointment, as stored."""
    ctx.rollback()
    office = ctx.get(Office, office_id)
    limits = (office.max_persons, office.max_services)
    ctx.rollback()
    return limits


def test_time_per_further_person_is_saved_and_audited(ctx, admin):
    page = admin.get("/admin/services/pass?lang=de").get_data(as_text=True)
    assert "Zeit je weitere Person (Minuten)" in page
    assert admin.get("/admin/services/pass?lang=en").status_code == 200
    response = admin.post("/admin/services/pass", data={
        **SERVICE, "further_person_minutes": "15", "csrf_token": session_csrf(admin)})
    assert response.status_code == 303
    ctx.rollback()
    assert ctx.get(Service, "pass").further_person_minutes == 15
    entry = ctx.scalar(select(AuditEntry).where(AuditEntry.action == "service.updated"))
    assert entry.before == {"further_person_minutes": None}
    assert entry.after == {"further_person_minutes": 15}
    ctx.rollback()
    page = admin.get("/admin/services/pass?lang=en").get_data(as_text=True)
    assert re.search(r'id="further_person_minutes"[^>]*value="15"', page)
    # empty: as long as the first person
    assert admin.post("/admin/services/pass", data={
        **SERVICE, "further_person_minutes": "", "csrf_token": session_csrf(admin)}
    ).status_code == 303
    ctx.rollback()
    assert ctx.get(Service, "pass").further_person_minutes is None
    ctx.rollback()


@pytest.mark.parametrize("value", ["-1", "481", "zehn"])
def test_bad_time_per_further_person_is_marked(ctx, admin, value):
    response = admin.post("/admin/services/pass?lang=en", data={
        **SERVICE, "further_person_minutes": value, "csrf_token": session_csrf(admin)})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert _marked(html, "further_person_minutes")
    assert 'href="#further_person_minutes"' in html  # the error summary links the field
    ctx.rollback()
    assert ctx.get(Service, "pass").further_person_minutes is None
    ctx.rollback()


def test_office_limits_and_combinable_services_are_saved_and_audited(ctx, manager):
    page = manager.get("/admin/offices/amt/?lang=de").get_data(as_text=True)
    assert "Personen je Termin höchstens" in page
    assert "Dienstleistungen, die mit anderen in einem Termin gebucht werden dürfen" in page
    assert re.search(r'id="max_persons"[^>]*value="6"', page)
    response = manager.post("/admin/offices/amt/", data={
        **OFFICE_DATA, "lead_time_minutes": "120", "max_persons": "4", "max_services": "2",
        "combinable": ["pass"], "csrf_token": session_csrf(manager)})
    assert response.status_code == 303
    assert _limits(ctx) == (4, 2)
    assert _combinable(ctx) == {"pass": True, "melde": False}
    entry = ctx.scalar(select(AuditEntry).where(AuditEntry.action == "office.updated"))
    assert entry.before == {"max_persons": 6, "max_services": 5, "not_combinable": []}
    assert entry.after == {"max_persons": 4, "max_services": 2, "not_combinable": ["melde"]}
    ctx.rollback()
    text = plain_text(manager.get("/admin/offices/amt/audit?lang=en").get_data(as_text=True))
    assert "Persons per appointment at most: 6 → 4" in text
    assert "Services booked only on their own" in text
    # the form shows what is stored: 'melde' unchecked
    page = manager.get("/admin/offices/amt/?lang=en").get_data(as_text=True)
    boxes = re.findall(r'<input[^>]*id="combinable-\d"[^>]*>', page)
    assert len(boxes) == 2
    assert [b for b in boxes if "checked" in b] == [b for b in boxes if 'value="pass"' in b]
    # a service newly offered may be combined; leaving the office keeps nothing behind
    assert manager.post("/admin/offices/amt/", data={
        **OFFICE_DATA, "lead_time_minutes": "120", "services": ["pass"],
        "combinable": ["pass"], "csrf_token": session_csrf(manager)}).status_code == 303
    assert _combinable(ctx) == {"pass": True}
    assert manager.post("/admin/offices/amt/", data={
        **OFFICE_DATA, "lead_time_minutes": "120", "combinable": ["pass", "melde"],
        "csrf_token": session_csrf(manager)}).status_code == 303
    assert _combinable(ctx) == {"pass": True, "melde": True}


@pytest.mark.parametrize("field, value", [
    ("max_persons", "0"), ("max_persons", "21"), ("max_persons", ""),
    ("max_services", "0"), ("max_services", "11"), ("max_services", "zwei")])
def test_bad_office_limits_are_marked(ctx, manager, field, value):
    response = manager.post("/admin/offices/amt/?lang=en", data={
        **OFFICE_DATA, field: value, "csrf_token": session_csrf(manager)})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert _marked(html, field)
    assert _limits(ctx) == (6, 5)


def test_new_office_gets_the_limits_and_combinable_services(ctx, admin):
    page = admin.get("/admin/offices/new?lang=en").get_data(as_text=True)
    assert re.search(r'id="max_services"[^>]*value="5"', page)
    response = admin.post("/admin/offices/new", data={
        **OFFICE_DATA, "office_id": "sued", "max_persons": "8", "max_services": "3",
        "combinable": ["melde"], "csrf_token": session_csrf(admin)})
    assert response.status_code == 303
    assert _limits(ctx, "sued") == (8, 3)
    assert _combinable(ctx, "sued") == {"pass": False, "melde": True}
