"""pytest plugin: ``--no-skips`` turns every skip into a failure (``make test`` and CI use it).

A test that skips itself because something is missing on the machine (Chromium, nginx)
would otherwise leave a green run that tested less than it says. Tests that belong to
one database only carry ``@pytest.mark.postgresql`` and are deselected on the other
(tests/conftest.py), so a complete run reports no skip at all. Expected failures
(``xfail``) are not skips and are left alone.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser):
    parser.addoption("--no-skips", action="store_true", default=False,
                     help="fail every test (and every module) that is skipped")


def _as_failure(report, config) -> None:
    if not (config.getoption("--no-skips") and report.skipped
            and not hasattr(report, "wasxfail")):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped, and --no-skips allows no skip: {reason.removeprefix('Skipped: ')}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _as_failure(outcome.get_result(), item.config)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _as_failure(outcome.get_result(), collector.config)
