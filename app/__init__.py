"""The application factory."""
import logging

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.extensions import appbuilder, csrf, db, migrate


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    # SQLite enforces foreign keys only when asked; WAL lets readers and a writer work at once.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def create_app(config_object="config.Config", **overrides) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config_object)
    app.config.update(overrides)
    logging.basicConfig(format="%(asctime)s:%(levelname)s:%(name)s:%(message)s", level=logging.INFO)
    logging.getLogger("flask_appbuilder").setLevel(logging.WARNING)
    logging.getLogger("flask_appbuilder.models.filters").setLevel(logging.ERROR)

    from app.services.login_policy import check_password_complexity

    app.config.setdefault("FAB_PASSWORD_COMPLEXITY_VALIDATOR", check_password_complexity)

    import models  # noqa: F401  register every model before the mappers configure

    db.init_app(app)
    csrf.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True)
    with app.app_context():
        appbuilder.init_app(app, db.session)
        from views import register_views

        register_views(appbuilder)
        appbuilder.post_init()

    from app import errors_web, web_hooks
    from app.celery_app import init_celery
    from app.cli import register_cli

    web_hooks.register(app)
    errors_web.register(app)
    app.jinja_env.tests["decimal"] = _is_decimal  # macros/cells.html: amounts grouped and right-aligned
    init_celery(app)
    register_cli(app)
    return app


def _is_decimal(value) -> bool:
    from decimal import Decimal

    return isinstance(value, Decimal)


def _migrations_dir():
    import os

    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")
