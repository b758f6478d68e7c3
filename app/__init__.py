"""Hearth: a self-hosted school-home platform."""
import logging
import os
import secrets

from flask import Flask

from .config import CONFIGS


def create_app(config=None):
    """Build the application: configuration, then extensions, then blueprints, then commands."""
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    env = os.environ.get("HEARTH_ENV", "development")
    if config and config.get("TESTING"):
        env = "testing"
    app.config.from_object(CONFIGS.get(env, CONFIGS["development"]))
    if not (config and config.get("TESTING")):
        app.config.from_pyfile("config.py", silent=True)
    if config:
        app.config.update(config)
    os.makedirs(app.instance_path, exist_ok=True)
    _finish_config(app, env)

    proxies = app.config.get("TRUSTED_PROXIES") or 0
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    from . import extensions
    from .database import configure_database
    from .extensions import babel, compress, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    configure_database(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
                     render_as_batch=True)
    csrf.init_app(app)
    compress.init_app(app)
    from .i18n import select_locale, select_timezone
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    limiter.init_app(app)
    from .auth_session import configure_login
    configure_login(app, login_manager)

    from . import models  # noqa: F401  (registers the tables)
    from .web import configure_web
    configure_web(app)

    from .blueprints import register_blueprints
    register_blueprints(app)

    from .cli import register_cli
    register_cli(app)
    from .jobs import init_app as init_jobs
    init_jobs(app)
    from .services.translation import load_provider_client
    load_provider_client(app)
    del extensions
    if not app.debug and not app.testing:
        from .web import RequestIdFilter
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
        handler.addFilter(RequestIdFilter())
        root = logging.getLogger()
        if not any(isinstance(f, RequestIdFilter) for h in root.handlers for f in h.filters):
            root.addHandler(handler)
        root.setLevel(logging.INFO)
    return app


def _finish_config(app, env):
    cfg = app.config
    if not cfg.get("SECRET_KEY"):
        if env == "production":
            raise RuntimeError("SECRET_KEY must be set in production (see the README).")
        # Development: one random key, kept in instance/ so that sessions survive a restart.
        path = os.path.join(app.instance_path, "secret_key")
        if not os.path.exists(path):
            with open(path, "w") as fh:
                fh.write(secrets.token_hex(32))
            os.chmod(path, 0o600)
        with open(path) as fh:
            cfg["SECRET_KEY"] = fh.read().strip()
    uri = cfg.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        uri = "sqlite:///" + os.path.join(app.instance_path, "hearth.db")
    if uri.startswith("postgres://"):
        uri = "postgresql://" + uri[len("postgres://"):]
    if uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri[len("postgresql://"):]
    cfg["SQLALCHEMY_DATABASE_URI"] = uri
    if not cfg.get("MEDIA_ROOT"):
        cfg["MEDIA_ROOT"] = os.path.join(app.instance_path, "media")
    if not cfg.get("RATELIMIT_STORAGE_URI"):
        cfg["RATELIMIT_STORAGE_URI"] = cfg.get("REDIS_URL") or "memory://"
    cfg.setdefault("MAIL_OUTBOX_DIR", os.path.join(app.instance_path, "mail"))
