"""The test run's clock (tests/clock.py): on a nationwide holiday the run, and what it
starts, goes on the next day that is none."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime

from tests import clock
from tests.factories import at
from tests.server import ROOT


def _start(day: str, hour: int, minute: int = 0) -> str:
    """Where a run begun at that time in Berlin goes on (Berlin time, ISO)."""
    moved = clock.run_start(at(date.fromisoformat(day), hour, minute))
    return moved.astimezone(clock.BERLIN).isoformat(timespec="minutes")


def test_a_run_moves_past_nationwide_holidays_and_midnight_only():
    assert _start("2026-12-24", 10) == "2026-12-24T10:00+01:00"
    assert _start("2026-12-25", 10) == "2026-12-27T10:00+01:00"  # 25 and 26 December
    assert _start("2027-01-01", 0, 30) == "2027-01-02T00:30+01:00"
    assert _start("2027-03-26", 21) == "2027-03-27T21:00+01:00"  # Good Friday
    # Corpus Christi is a holiday in some states only: the floor opens in another
    assert _start("2027-05-27", 10) == "2027-05-27T10:00+02:00"
    assert clock.state_without_holiday(date(2027, 5, 27)) is not None
    # midnight within the hour: a quarter past it, then past the holidays
    assert _start("2026-12-07", 23, 10) == "2026-12-08T00:15+01:00"
    assert _start("2026-12-07", 22, 59) == "2026-12-07T22:59+01:00"
    assert _start("2026-12-24", 23, 30) == "2026-12-27T00:15+01:00"
    assert _start("2026-12-31", 23, 30) == "2027-01-02T00:15+01:00"
    assert _start("2027-03-27", 23, 30) == "2027-03-28T00:15+01:00"  # the night of the clock change


def _child_now(env: dict, before: str = "") -> tuple[float, float, str]:
    """(the child's clock, the real clock, the offset it passes on) after clock.start()."""
    script = (f"import time, time_machine\n{before}\nfrom tests import clock\nclock.start()\n"
              "import datetime, os\n"
              "print(datetime.datetime.now(datetime.UTC).timestamp(),"
              " time_machine.escape_hatch.time.time(), os.environ[clock.OFFSET])")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    now, real, offset = done.stdout.split()
    return float(now), float(real), offset


def test_a_started_process_takes_the_offset_from_the_environment():
    env = {**os.environ, clock.OFFSET: str(3 * 86400)}
    now, real, offset = _child_now(env)
    assert abs(now - real - 3 * 86400) < 60
    assert offset == str(3 * 86400)


def test_on_a_nationwide_holiday_the_run_moves_to_the_next_open_day():
    env = {k: v for k, v in os.environ.items() if k != clock.OFFSET}
    christmas = at(date(2026, 12, 25), 10)
    travel = f"time_machine.travel({christmas.timestamp()!r}, tick=True).start()"
    now, real, offset = _child_now(env, travel)
    moved = datetime.fromtimestamp(now, UTC).astimezone(clock.BERLIN)
    assert moved.date() == date(2026, 12, 27)
    assert (moved.hour, moved.minute) == (10, 0)
    assert abs(float(offset) - (now - real)) < 60  # what its children take


def test_on_an_ordinary_day_the_clock_is_not_moved():
    env = {k: v for k, v in os.environ.items() if k != clock.OFFSET}
    day = at(date(2026, 12, 8), 10)
    now, real, offset = _child_now(
        env, f"time_machine.travel({day.timestamp()!r}, tick=True).start()")
    assert datetime.fromtimestamp(now, UTC).astimezone(clock.BERLIN).date() == day.date()
    assert abs(now - day.timestamp()) < 60
