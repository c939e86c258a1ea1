"""Online appointment booking for citizen offices (Bürgerbüro)."""

from __future__ import annotations

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(config: dict | None = None) -> Flask:
    """Application factory. ``config`` overrides settings (tests pass a mapping)."""
    from booking import cli, extensions, i18n, jobs, logs, models, realtime, web  # noqa: F401  (models: register tables; jobs: periodic jobs)
    from booking.config import DEMO_CONTROLLER, load_config
    from booking.db import commit_request, configure_sqlite
    from booking.fairness import apply_switch
    from booking.web import operations

    app = Flask(
        __name__,
        template_folder=os.path.join(ROOT, "templates"),
        static_folder="static",
        instance_path=os.environ.get("BOOKING_INSTANCE_PATH") or os.path.join(ROOT, "instance"),
    )
    app.config.from_mapping(load_config(app.instance_path))
    if config:
        app.config.from_mapping(config)
    apply_switch(app.config)
    logs.configure(app)
    os.makedirs(app.instance_path, exist_ok=True)
    if app.config["BOOKING_ENV"] == "production" and not app.config["MAIL_SERVER"]:
        app.logger.warning("MAIL_SERVER is not set: emails are written to %s, not sent",
                           app.config["MAIL_FILE_DIR"])
    if app.config["BOOKING_ENV"] == "production" \
            and app.config["PRIVACY_CONTROLLER"] == DEMO_CONTROLLER:
        app.logger.warning("PRIVACY_CONTROLLER is not set: the privacy notice names the demo "
                           "town %r as the controller", DEMO_CONTROLLER)
    if app.config["BOOKING_ENV"] == "production" \
            and app.config["IMPRINT_PROVIDER"] == DEMO_CONTROLLER:
        app.logger.warning("IMPRINT_PROVIDER is not set: the imprint names the demo town %r",
                           DEMO_CONTROLLER)
    if app.config["BOOKING_ENV"] == "production" and not app.config["DGS_VIDEO"]:
        app.logger.warning("DGS_VIDEO is not set: the sign language page has no video")

    extensions.db.init_app(app)
    with app.app_context():  # engines exist now; nothing connects yet
        for engine in extensions.db.engines.values():
            configure_sqlite(engine, app.config["SQLITE_BEGIN_IMMEDIATE"])
    extensions.migrate.init_app(
        app, extensions.db, directory=os.path.join(ROOT, "booking", "migrations"),
        render_as_batch=True, compare_type=True, include_object=_modelled,
    )
    extensions.mail.init_app(app)
    extensions.csrf.init_app(app)
    extensions.babel.init_app(app, locale_selector=i18n.select_locale)
    extensions.htmx.init_app(app)
    extensions.login_manager.init_app(app)
    realtime.init_app(app)
    operations.init_app(app)  # before the commit hook: requests are counted after commit
    app.after_request(commit_request)

    web.register(app)
    cli.register(app)
    proxies = app.config["TRUSTED_PROXY_COUNT"]
    if proxies:  # only then X-Forwarded-For/-Proto tell the client's address and scheme
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    return app


def _modelled(obj, name, type_, reflected, compare_to) -> bool:
    """For comparing models and database: the assistant's full-text index (migration
    0020, with SQLite's FTS5 shadow tables) has no model."""
    return not (type_ == "table" and name.startswith("assistant_documents"))
