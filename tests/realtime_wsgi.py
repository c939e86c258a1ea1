"""``gunicorn tests.realtime_wsgi:app``: the production app plus the realtime test blueprint."""

from booking import create_app
from tests.realtime_app import register

app = register(create_app())
