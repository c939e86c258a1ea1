"""Reading an uploaded list of persons to invite: CSV as the registry or Excel writes it.

UTF-8 with or without a byte order mark; comma or semicolon (German Excel) as the
separator, told from the header row; a header row naming the columns in German or
English (name, email, service, due date; an optional language); more columns (a
registry export has them) are ignored. Pure: the services that may be named are
passed in, and every problem comes back with its line number, field and a code that
the web layer words (:data:`CODES`), so that one bad line rejects the whole file.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from email_validator import EmailNotValidError, validate_email

from booking.fairness.emails import normalise_email

MAX_LINES = 20000
MIN_YEAR, MAX_YEAR = 2000, 2199
FIELDS = ("name", "email", "service", "due_date", "language")
REQUIRED = ("name", "email", "service", "due_date")
HEADERS = {
    "name": {"name", "full name", "vor- und nachname", "vorname nachname"},
    "email": {"email", "e-mail", "e mail", "email address", "e-mail-adresse", "e-mail adresse",
              "emailadresse", "mail"},
    "service": {"service", "dienstleistung", "leistung", "anliegen"},
    "due_date": {"due date", "due", "fällig am", "fälligkeitsdatum", "fällig", "faellig am",
                 "ablaufdatum", "gültig bis", "gueltig bis", "expires", "expiry date"},
    "language": {"language", "sprache", "lang"},
}
#: every problem code (the web layer has a message for each)
CODES = ("not_utf8", "empty", "bad_csv", "missing_column", "too_many_lines", "name_missing",
         "name_too_long", "name_invalid", "email_missing", "email_invalid", "service_missing",
         "service_unknown", "date_missing", "date_invalid", "date_past", "language_invalid",
         "duplicate_in_file", "duplicate_existing")
_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class Problem:
    line: int  # 1: the header row; 0: the file as a whole
    field: str | None
    code: str
    other_line: int | None = None  # the first line of a duplicate within the file


@dataclass(frozen=True)
class Person:
    line: int
    name: str
    email: str
    email_key: str
    service_id: str
    due_date: date
    language: str

    @property
    def key(self) -> tuple[str, str, date]:
        """What makes two invitations the same: person, service and due date."""
        return self.email_key, self.service_id, self.due_date


def _label(value: str) -> str:
    return " ".join(value.strip().lower().replace("_", " ").split())


def service_lookup(services) -> dict[str, str]:
    """Keys a file may name a service by (its short name, German or English name, any
    case) → the service's id."""
    found: dict[str, str] = {}
    for service in services:
        for key in (service.id, service.name_de, service.name_en):
            if key:
                found.setdefault(_label(key), service.id)
    return found


def parse_date(value: str) -> date | None:
    """``2027-03-01`` or ``1.3.2027``; None if neither (or no such day)."""
    value = value.strip()
    if match := _ISO_DATE.match(value):
        year, month, day = (int(g) for g in match.groups())
    elif match := _GERMAN_DATE.match(value):
        day, month, year = (int(g) for g in match.groups())
    else:
        return None
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def clean_name(value: str) -> tuple[str | None, str | None]:
    """(the name, None) or (None, problem code)."""
    value = " ".join(value.split())
    if not value:
        return None, "name_missing"
    if len(value) > 200:
        return None, "name_too_long"
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        return None, "name_invalid"
    return value, None


def clean_email(value: str) -> tuple[str | None, str | None]:
    value = value.strip()
    if not value:
        return None, "email_missing"
    try:
        return validate_email(value, check_deliverability=False,
                              allow_smtputf8=False).normalized, None
    except EmailNotValidError:
        return None, "email_invalid"


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _dialect(header: str) -> str:
    return ";" if header.count(";") >= header.count(",") and ";" in header else ","


def read_people(data: bytes, services: Mapping[str, str], today: date,
                default_language: str) -> tuple[list[Person], list[Problem], int]:
    """The persons of the file, the problems found (an empty list: all good) and the
    number of data lines read."""
    text = _text(data)
    if text is None:
        return [], [Problem(0, None, "not_utf8")], 0
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return [], [Problem(0, None, "empty")], 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_dialect(lines[first]))
    header: list[str] | None = None
    columns: dict[str, int] = {}
    people: list[Person] = []
    problems: list[Problem] = []
    seen: dict[tuple, int] = {}
    count = 0
    while True:
        line = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error:
            problems.append(Problem(line, None, "bad_csv"))
            break
        if not any(cell.strip() for cell in record):
            continue
        if header is None:
            header = record
            labels = [_label(cell) for cell in record]
            for field in FIELDS:
                for index, label in enumerate(labels):
                    if label in HEADERS[field] or label == field.replace("_", " "):
                        columns.setdefault(field, index)
            missing = [Problem(line, field, "missing_column")
                       for field in REQUIRED if field not in columns]
            if missing:
                return [], missing, 0
            continue
        count += 1
        if count > MAX_LINES:
            return [], [Problem(line, None, "too_many_lines")], count
        person, errors = _person(line, record, columns, services, today, default_language)
        problems.extend(errors)
        if person is None:
            continue
        if person.key in seen:
            problems.append(Problem(line, "email", "duplicate_in_file", seen[person.key]))
            continue
        seen[person.key] = line
        people.append(person)
    if header is None:
        return [], [Problem(0, None, "empty")], 0
    return people, problems, count


def _person(line: int, record: list[str], columns: dict[str, int], services: Mapping[str, str],
            today: date, default_language: str) -> tuple[Person | None, list[Problem]]:
    def cell(field: str) -> str:
        index = columns.get(field)
        return record[index] if index is not None and index < len(record) else ""

    problems = []
    name, code = clean_name(cell("name"))
    if code:
        problems.append(Problem(line, "name", code))
    email, code = clean_email(cell("email"))
    if code:
        problems.append(Problem(line, "email", code))
    service_id = None
    if not cell("service").strip():
        problems.append(Problem(line, "service", "service_missing"))
    else:
        service_id = services.get(_label(cell("service")))
        if service_id is None:
            problems.append(Problem(line, "service", "service_unknown"))
    due = None
    if not cell("due_date").strip():
        problems.append(Problem(line, "due_date", "date_missing"))
    else:
        due = parse_date(cell("due_date"))
        if due is None:
            problems.append(Problem(line, "due_date", "date_invalid"))
        elif due < today:
            problems.append(Problem(line, "due_date", "date_past"))
    language = _label(cell("language")) or default_language
    if language in ("deutsch", "german"):
        language = "de"
    elif language in ("englisch", "english"):
        language = "en"
    if language not in ("de", "en"):
        problems.append(Problem(line, "language", "language_invalid"))
    if problems:
        return None, problems
    return Person(line, name, email, normalise_email(email), service_id, due, language), []
