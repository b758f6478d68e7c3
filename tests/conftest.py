"""Fixtures in the style of the Flask tutorial: app, client, login_as."""
import os
import time

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db

PG_URL = os.environ.get("TEST_DATABASE_URL")


def _worker_database_url():
    """On PostgreSQL each xdist worker gets a database of its own, created once."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    url = make_url(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
                   if PG_URL.startswith("postgresql://") else PG_URL)
    name = f"{url.database}_{worker}"
    import psycopg
    admin = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if PG_URL:
        return _worker_database_url()
    return None


class FreshContextClient(FlaskClient):
    """Each request runs in an app context of its own, as in a real server: `g` and the database
    session do not leak from one request to the next or from the test into the request. Afterwards
    the test's own session forgets what it loaded, so it sees what the request wrote."""

    def open(self, *args, **kwargs):
        if has_app_context():
            db.session.commit()  # what the test set up is saved, and its transaction ends
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        # As a WSGI server does once the request is over: read the whole body, then close the
        # response, which runs what waits for it (app/jobs.py: in-process jobs after the response).
        response.make_sequence()
        response.close()
        if has_app_context():
            db.session.expire_all()
        return response


def build_app(tmp_path, database_url, **overrides):
    uri = database_url or "sqlite:///" + str(tmp_path / "test.db")
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": uri,
        "MAIL_OUTBOX_DIR": str(tmp_path / "mail"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None,
    }
    config.update(overrides)
    application = create_app(config)
    application.test_client_class = FreshContextClient
    return application


@pytest.fixture
def make_app(tmp_path, database_url):
    """Build an app with extra settings (CSRF or rate limits on, say); cleaned like `app`."""
    made = []

    def factory(**overrides):
        application = build_app(tmp_path, database_url, **overrides)
        with application.app_context():
            db.create_all()
        made.append(application)
        return application

    yield factory
    for application in made:
        _clean(application)


def _clean(application):
    with application.app_context():
        db.session.remove()
        if application.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture
def app(tmp_path, database_url):
    application = build_app(tmp_path, database_url)
    with application.app_context():
        db.create_all()
        yield application
    _clean(application)


@pytest.fixture
def client(app):
    return app.test_client()


def sign_in(client, account):
    """Put an account's session on a test client, as a real sign-in would."""
    now = int(time.time())
    with client.session_transaction() as sess:
        sess["_user_id"] = account.get_id()
        sess["_fresh"] = True
        sess["auth_at"] = now
        sess["seen_at"] = now
    return client


@pytest.fixture
def login_as(app):
    """login_as(account) -> a new test client signed in as that account."""
    def _login(account):
        return sign_in(app.test_client(), account)
    return _login


def htmx_headers(**extra):
    headers = {"HX-Request": "true"}
    headers.update(extra)
    return headers


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        import email
        from email import policy
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 (aiosmtpd); `.messages` holds what it received."""
    import socket

    from aiosmtpd.controller import Controller
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    inbox.config = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_USE_TLS": False,
                    "MAIL_USE_SSL": False}
    yield inbox
    controller.stop()


def outcome(response):
    """The status as a person sees it: an htmx request sent to sign in counts as the redirect it is."""
    return 302 if response.headers.get("HX-Redirect") else response.status_code


def client_as(client, login_as, people, who):
    """A test client for one cell of an access table: anonymous, or signed in as people[who]."""
    return client if who == "anonymous" else login_as(people[who])


def without_secrets(html):
    """A page's text without its random tokens (CSRF, request keys), so that a check that a short
    name such as "5R" is absent cannot be upset by a token that happens to contain it."""
    import re
    html = re.sub(r'(<input[^>]*name="(?:csrf_token|request_key)"[^>]*value=")[^"]*', r"\1", html)
    html = re.sub(r'(<input[^>]*value=")[^"]*("[^>]*name="(?:csrf_token|request_key)")', r"\1\2", html)
    return re.sub(r'("X-CSRFToken": ")[^"]*', r"\1", html)


def count_queries(fn):
    """How many SQL statements fn() runs."""
    from sqlalchemy import event
    count = 0

    def before(*args, **kwargs):
        nonlocal count
        count += 1
    event.listen(db.engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return count


# ---- translation providers: local stand-ins (tests/translation_servers.py) ----------------------------

@pytest.fixture
def libre_server():
    """A server speaking LibreTranslate's API on 127.0.0.1; `.calls` records what it was sent."""
    from tests.translation_servers import running
    with running() as server:
        yield server


@pytest.fixture
def google_server():
    """A stand-in for the Google page deep-translator's GoogleTranslator scrapes (and DeepL's and
    Microsoft's APIs, on their own paths)."""
    from tests.translation_servers import running
    with running() as server:
        yield server


def use_provider(app, server, name, **settings):
    """Point the app's translation at a stand-in server as provider `name` (libre, google, ...)."""
    app.config.update(server.provider_config(name), **settings)


def count_page_queries(client, url):
    """(SQL statements a GET of ``url`` runs, the response); the page must answer 200."""
    responses = []
    count = count_queries(lambda: responses.append(client.get(url)))
    assert responses[0].status_code == 200
    return count, responses[0]



def run_worker_burst(application):
    """`flask jobs worker --burst` against the app's Redis queue: the RQ worker forks a work horse per
    job and stops when the queue is empty. It takes over SIGINT and SIGTERM; they go back to pytest."""
    import signal
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = application.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert result.exit_code == 0, result.output
    return result
