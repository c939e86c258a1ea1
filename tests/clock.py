"""The test run's clock: the real one, except on a nationwide public holiday.

Offices are closed on public holidays, the walk-in floor (conftest's ``floor``) too, and
on a nationwide one (1 January, Good Friday, Easter Monday, 1 May, Ascension, Whit
Monday, 3 October, 25 and 26 December) no federal state has an open office. So that the
suite gives the same answer on every day of the year, the run then goes on at the same
time of the next day on which some federal state has no holiday (and also when one
begins within the hour, so that midnight does not close the floor during the run).

The pytest process moves its clock at start (conftest, with time-machine, which moves
``time.time`` and ``datetime.now`` but not the monotonic clocks) and passes the offset on
in the environment; the servers and commands the tests start run through this module
(``python -m tests.clock MODULE ARGS…``) and take the same offset. On other days the
offset is 0 and the clocks are the real ones, through the same code.
"""

from __future__ import annotations

import os
import runpy
import sys
import time
from datetime import UTC, date, datetime, timedelta
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


def days_ahead(now: datetime) -> int:
    """Whole days from ``now`` to a time at which no nationwide holiday (in Berlin) falls
    within the next :data:`RUN_LENGTH`."""
    days = 0
    while any(state_without_holiday((now + timedelta(days=days) + later).astimezone(BERLIN)
                                    .date()) is None for later in (timedelta(0), RUN_LENGTH)):
        days += 1
    return days


def _real_time() -> float:
    escape = time_machine.escape_hatch
    return escape.time.time() if escape.is_travelling() else time.time()


def start() -> float:
    """Run this process on the run's clock; returns its offset in seconds. The first
    process works the offset out and puts it in the environment, for the processes it
    starts."""
    if OFFSET not in os.environ:
        now = datetime.now(UTC)  # (a clock moved already, e.g. by a test of this module, counts)
        ahead = (now + timedelta(days=days_ahead(now))).timestamp() - _real_time()
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
