"""Independent iCalendar parsers for the tests, each in its own process: ical.js
(Mozilla's, what Thunderbird uses) under Node (tests/js/parse_ical.mjs) and vobject, one
process per object (its TZID registry is global; tests/vobject_parse.py). Both print
what a calendar client would see as JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICALJS_SCRIPT = ROOT / "tests" / "js" / "parse_ical.mjs"
VOBJECT_SCRIPT = ROOT / "tests" / "vobject_parse.py"


def _run(cmd: list[str], data: bytes) -> dict:
    env = {**os.environ, "TZ": "UTC"}
    done = subprocess.run(cmd, input=data, capture_output=True, env=env, cwd=ROOT,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    return json.loads(done.stdout)


def icaljs(data: bytes) -> dict:
    node = shutil.which("node")
    assert node, "Node.js is needed for the ical.js tests"
    assert (ROOT / "node_modules" / "ical.js" / "package.json").exists(), "npm ci first"
    return _run([node, str(ICALJS_SCRIPT)], data)


def vobject_parse(data: bytes) -> dict:
    return _run([sys.executable, str(VOBJECT_SCRIPT)], data)


PARSERS = {"ical.js": icaljs, "vobject": vobject_parse}
