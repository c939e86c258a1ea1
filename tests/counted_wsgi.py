"""``gunicorn tests.counted_wsgi:app``: the production app, which first appends each
request's method and path to the file named in ``REQUEST_LOG``, so that
tests/test_nginx.py sees which requests nginx passed on to the app."""

from __future__ import annotations

import os

from booking import create_app


class _Counted:
    def __init__(self, app):
        self.app = app  # deploy/gunicorn.conf.py finds the Flask app here

    def __call__(self, environ, start_response):
        line = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}\n"
        with open(os.environ["REQUEST_LOG"], "a", encoding="utf-8") as log:
            log.write(line)  # one short append: lines of several workers do not mix
        return self.app(environ, start_response)


app = _Counted(create_app())
