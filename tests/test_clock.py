"""The test run's clock (tests/clock.py): on a nationwide holiday the run, and what it
starts, goes on the next day that is none."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

from tests import clock
from tests.factories import at
from tests.server import ROOT


def test_days_ahead_skips_nationwide_holidays_only():
    assert clock.days_ahead(at(datetime(2026, 12, 24).date(), 10)) == 0
    assert clock.days_ahead(at(datetime(2026, 12, 25).date(), 10)) == 2  # 25 and 26 December
    assert clock.days_ahead(at(datetime(2027, 1, 1).date(), 0, 30)) == 1
    assert clock.days_ahead(at(datetime(2027, 3, 26).date(), 21)) == 1  # Good Friday
    # a holiday that begins during the run: from Christmas Eve 23:30 to the 27th 23:30
    assert clock.days_ahead(at(datetime(2026, 12, 24).date(), 23, 30)) == 3
    assert clock.days_ahead(at(datetime(2026, 12, 31).date(), 23, 30)) == 2
    assert clock.days_ahead(at(datetime(2026, 12, 31).date(), 22, 30)) == 0
    # Corpus Christi is a holiday in some states only: the floor opens in another
    assert clock.days_ahead(at(datetime(2027, 5, 27).date(), 10)) == 0
    assert clock.state_without_holiday(datetime(2027, 5, 27).date()) is not None


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
    christmas = at(datetime(2026, 12, 25).date(), 10)
    travel = f"time_machine.travel({christmas.timestamp()!r}, tick=True).start()"
    now, real, offset = _child_now(env, travel)
    moved = datetime.fromtimestamp(now, UTC).astimezone(clock.BERLIN)
    assert moved.date() == datetime(2026, 12, 27).date()
    assert (moved.hour, moved.minute) == (10, 0)
    assert abs(float(offset) - (now - real)) < 60  # what its children take


def test_on_an_ordinary_day_the_clock_is_not_moved():
    env = {k: v for k, v in os.environ.items() if k != clock.OFFSET}
    day = at(datetime(2026, 12, 8).date(), 10)
    now, real, offset = _child_now(
        env, f"time_machine.travel({day.timestamp()!r}, tick=True).start()")
    assert datetime.fromtimestamp(now, UTC).astimezone(clock.BERLIN).date() == day.date()
    assert abs(now - day.timestamp()) < 60
