"""The test run's clock: the real one, unless the run would meet a local midnight or a
nationwide public holiday.

Offices are closed on public holidays, the walk-in floor (conftest's ``floor``) too, and
on a nationwide one (1 January, Good Friday, Easter Monday, 1 May, Ascension, Whit
Monday, 3 October, 25 and 26 December) no federal state has an open office. And a test
that books a time a few minutes ahead and then checks in finds it on the next day once
midnight has passed. So that the suite gives the same answer at every hour of the year,
a run that would meet either within :data:`RUN_LENGTH` goes on at a time that does not
(:func:`run_start`): after the coming midnight, on the next day without a nationwide
holiday.

The pytest process moves its clock at start (conftest, with time-machine, which moves
``time.time`` and ``datetime.now`` but not the monotonic clocks) and passes the offset on
in the environment; the servers and commands the tests start run through this module
(``python -m tests.clock MODULE ARGS…``) and take the same offset; a browser test that
reads the page's clock sets it with Playwright's ``page.clock``. Most of the time the
offset is 0 and the clocks are the real ones, through the same code.
"""

from __future__ import annotations

import os
import runpy
import sys
import time as clock_time
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import time_machine

OFFSET = "BOOKING_TEST_CLOCK_OFFSET"  # seconds the run's clock is ahead of the real one
BERLIN = ZoneInfo("Europe/Berlin")
STATES = ("HE", "BE", "BY", "NW", "HH", "SN", "BW")  # enough to avoid every regional holiday
RUN_LENGTH = timedelta(hours=1)  # longer than one pytest run of the suite takes


def state_without_holiday(day: date) -> str | None:
    """A federal state in which ``day`` is no public holiday; None on a nationwide one."""
    for state in STATES:
        if day not in holidays_lib.country_holidays("DE", subdiv=state, years=day.year):
            return state
    return None


def run_start(now: datetime) -> datetime:
    """``now`` if no local midnight (Berlin) and no nationwide holiday falls within
    :data:`RUN_LENGTH` from it; else the first time after it that has neither: a quarter
    past the coming midnight, one day later for each nationwide holiday."""
    start = now
    while True:
        first, last = (t.astimezone(BERLIN) for t in (start, start + RUN_LENGTH))
        if first.date() != last.date():  # midnight on the way
            start = datetime.combine(last.date(), time(0, 15), tzinfo=BERLIN)
        elif state_without_holiday(first.date()) is None:
            start += timedelta(days=1)
        else:
            return start


def _real_time() -> float:
    escape = time_machine.escape_hatch
    return escape.time.time() if escape.is_travelling() else clock_time.time()


def start() -> float:
    """Run this process on the run's clock; returns its offset in seconds. The first
    process works the offset out and puts it in the environment, for the processes it
    starts."""
    if OFFSET not in os.environ:
        now = datetime.now(UTC)  # (a clock moved already, e.g. by a test of this module, counts)
        ahead = run_start(now).timestamp() - _real_time()
        os.environ[OFFSET] = repr(ahead)
    offset = float(os.environ[OFFSET])
    time_machine.travel(_real_time() + offset, tick=True).start()
    return offset


def command(module: str, *args: str) -> list[str]:
    """The command that runs ``python -m module args…`` on the run's clock."""
    return [sys.executable, "-m", "tests.clock", module, *args]


if __name__ == "__main__":
    start()
    module, sys.argv = sys.argv[1], sys.argv[1:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
