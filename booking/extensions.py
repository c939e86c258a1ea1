"""Unbound Flask extensions; ``create_app`` binds them."""

from flask_babel import Babel
from flask_htmx import HTMX
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from booking.db import db

__all__ = ["db", "migrate", "mail", "csrf", "babel", "htmx", "login_manager"]

migrate = Migrate()
mail = Mail()
csrf = CSRFProtect()
babel = Babel()
htmx = HTMX()
login_manager = LoginManager()
