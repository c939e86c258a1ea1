"""The benchmark's WSGI app: the real booking app plus the yardstick route.

``/bench/bare`` goes through the same gunicorn server, workers, Flask app and
``after_request`` hooks (security headers, the request's commit point) as the API, but
does no work of its own. It lives here, not in ``booking``, so the product has no
benchmark routes.
"""

from booking import create_app

app = create_app()


@app.get("/bench/bare")
def bare():
    return "ok"
