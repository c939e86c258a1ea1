"""psycopg 3 under gevent: make sure its waits yield to other greenlets.

psycopg picks its wait function when ``psycopg.waiting`` is first imported: the C
``wait_c`` (a blocking poll() that gevent cannot see) unless gevent has already patched
``select``. gunicorn's gevent worker patches before it imports the app, so normally the
pure-Python ``wait_poll`` is chosen and a LISTEN wait or a slow query lets the other
greenlets run. If psycopg was imported first (``preload_app``, a hook, a plugin), the
choice is wrong and one slow query would stall the whole worker; this switches it.
"""

from __future__ import annotations

import selectors
import sys


def gevent_patched() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey and monkey.is_module_patched("select"))


def make_psycopg_cooperative() -> bool:
    """Switch psycopg to gevent-friendly waits if needed; True if something changed."""
    if not gevent_patched() or "psycopg.waiting" not in sys.modules:
        return False  # not under gevent, or psycopg will choose well when imported
    from psycopg import waiting

    changed = False
    if waiting.wait is getattr(waiting, "wait_c", None):
        waiting.wait = waiting.wait_poll
        waiting._ready = waiting._ready_poll
        changed = True
    if waiting.DefaultSelector is not selectors.DefaultSelector:  # used to connect
        waiting.DefaultSelector = selectors.DefaultSelector
        changed = True
    return changed
