"""The benchmark's WSGI app: the real booking app plus two routes of its own.

``/bench/bare`` is the yardstick: it goes through the same gunicorn server, workers,
Flask app and ``after_request`` hooks (security headers, the request's commit point)
as the API, but does no work of its own. ``/bench/stats`` reports this worker's
slot-list cache counters so the runner can tell hits from misses. Both live here,
not in ``booking``, so the product has no benchmark routes.
"""

import os

from booking import create_app

app = create_app()

if os.environ.get("BENCH_SLOT_CACHE") == "0":
    # measure the slot listing as if every request missed the snapshot-keyed cache
    from booking.web.api import views as _views

    if hasattr(_views, "_slot_lists"):
        _views._slot_lists.get = lambda key: None
        _views._slot_lists.put = lambda key, value: None


@app.get("/bench/bare")
def bare():
    return "ok"


@app.get("/bench/stats")
def stats():
    from booking.web.api import views

    cache = getattr(views, "_slot_lists", None)
    return {
        "pid": os.getpid(),
        "slot_cache_hits": getattr(cache, "hits", None),
        "slot_cache_misses": getattr(cache, "misses", None),
    }
