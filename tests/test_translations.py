"""The German catalog: complete for the current source, placeholders intact, and used.

German is the default language, so every message in the source needs a German
translation. The messages are extracted from the source afresh (not from the committed
``messages.pot``), so a new untranslated string fails here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "booking" / "translations"
PO = TRANSLATIONS / "de" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")

# A %-format conversion: %(name)s, %s, %5.2f, %% ... (the same rules as Python's).
FORMAT = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[a-zA-Z%]")
NAMED = re.compile(r"%\(([^)]*)\)")


def _forms(value) -> tuple[str, ...]:
    """A message's id or string as a tuple (plural messages have several forms)."""
    if isinstance(value, list | tuple):
        return tuple(value)
    return (value,)


def _read_po(path: Path, locale: str | None = None):
    with open(path, "rb") as f:
        return read_po(f, locale=locale)


@pytest.fixture(scope="module")
def source_catalog(tmp_path_factory):
    """The messages of the current source, extracted as the Makefile/README do."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    result = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract",
         "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "--no-location",
         "--sort-output", "-o", str(pot), "."],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, f"pybabel extract failed:\n{result.stderr}"
    catalog = _read_po(pot)
    assert len(catalog) > 50, "extraction found suspiciously few messages"
    return catalog


@pytest.fixture(scope="module")
def german():
    return _read_po(PO, locale="de")


@pytest.fixture(scope="session")
def compiled_catalog(app):
    """Make sure the .mo next to the .po is current (``make translations`` builds it).

    Compiles it if it is missing or older than the .po, atomically, so a parallel run
    never reads half a file. Flask-Babel caches loaded catalogs process-wide, so after
    a (re)compile the cache is emptied; otherwise an earlier test could have cached the
    catalog without (or with stale) translations.
    """
    if MO.exists() and MO.stat().st_mtime >= PO.stat().st_mtime:
        return MO
    catalog = _read_po(PO, locale="de")
    fd, tmp = tempfile.mkstemp(dir=MO.parent, prefix=".messages-", suffix=".mo")
    try:
        with os.fdopen(fd, "wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        os.replace(tmp, MO)
    except BaseException:
        os.unlink(tmp)
        raise
    from booking.extensions import babel

    with app.app_context():
        babel.domain_instance.cache.clear()
    return MO


def test_every_source_message_has_a_german_translation(source_catalog, german):
    missing, fuzzy = [], []
    for message in source_catalog:
        if not message.id:
            continue  # the header
        translated = german.get(message.id, message.context)
        if translated is None or not all(_forms(translated.string)) or (
            len(_forms(translated.string)) < len(_forms(message.id))
        ):
            missing.append(message.id)
        elif translated.fuzzy:
            fuzzy.append(message.id)
    assert not missing, (
        f"{len(missing)} message(s) without German translation - run the extraction and "
        "`pybabel update` (see README), then translate:\n"
        + "\n".join(f"  {m!r}" for m in missing)
    )
    assert not fuzzy, "fuzzy German translations (check and remove the flag):\n" + "\n".join(
        f"  {m!r}" for m in fuzzy
    )


def test_no_fuzzy_or_empty_entries_in_the_german_catalog(german):
    bad = [m.id for m in german if m.id and (m.fuzzy or not all(_forms(m.string)))]
    assert not bad, "fuzzy or empty entries in messages.po:\n" + "\n".join(
        f"  {m!r}" for m in bad
    )


def test_placeholders_survive_translation(german):
    problems = []
    for message in german:
        if not message.id:
            continue
        ids, strings = _forms(message.id), _forms(message.string)
        if len(ids) == 1:
            expected = Counter(FORMAT.findall(ids[0]))
            for string in strings:
                if string and Counter(FORMAT.findall(string)) != expected:
                    problems.append((message.id, string))
        else:  # plural: a form may drop the count, but may not invent names
            allowed = {name for form in ids for name in NAMED.findall(form)}
            used = {name for form in strings for name in NAMED.findall(form)}
            if not used <= allowed or allowed - used - {"num"}:
                problems.append((message.id, message.string))
    assert not problems, "placeholders differ between msgid and msgstr:\n" + "\n".join(
        f"  {i!r}\n    -> {s!r}" for i, s in problems
    )
    checker_errors = [(m.id, [str(e) for e in errors]) for m, errors in german.check()]
    assert not checker_errors, f"Babel catalog checks failed: {checker_errors}"


def test_german_is_the_default_and_english_on_request(compiled_catalog, client, german):
    heading = "Book an appointment at the citizen office"
    german_heading = german.get(heading).string
    assert german_heading and german_heading != heading

    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="de">' in html
    assert german_heading in html
    assert heading not in html

    page = client.get("/?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="en">' in html
    assert heading in html
    assert german_heading not in html


def test_python_messages_and_escaped_percent_are_translated(compiled_catalog, client, german):
    """gettext() in Python code and a template message with ``%%`` use the catalog too."""
    not_found = client.get("/no-such-page")
    assert not_found.status_code == 404
    assert german.get("Not found").string in not_found.get_data(as_text=True)

    html = client.get("/accessibility").get_data(as_text=True)
    assert german.get("Accessibility statement").string in html
    assert "400 %" in html and "400 %%" not in html
