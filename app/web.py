"""What every response shares: security headers, hashed assets, the school in context, errors."""
import hashlib
import logging
import mimetypes
import os
import uuid

from flask import current_app, g, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf
from htmx_flask import Htmx
from markupsafe import Markup
from werkzeug.exceptions import NotFound
from werkzeug.utils import safe_join

from .extensions import db
from .i18n import LANGUAGE_NAMES, available_languages, text_direction
from .models.people import ROLE_LABELS

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
])
STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
ONE_YEAR = 31536000


def _asset_digests():
    digests = {}
    for root, _dirs, files in os.walk(STATIC_DIR):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, STATIC_DIR).replace(os.sep, "/")
            with open(path, "rb") as fh:
                digests[rel] = hashlib.sha256(fh.read()).hexdigest()[:12]
    return digests


_ASSET_BODIES = {}


def _read_asset(filename):
    """A static file's bytes and type, read once. Served whole (not streamed) so it is compressed."""
    cached = _ASSET_BODIES.get(filename)
    if cached is None:
        path = safe_join(STATIC_DIR, filename)
        if path is None or not os.path.isfile(path):
            raise NotFound()
        with open(path, "rb") as fh:
            body = fh.read()
        mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        cached = (body, mimetype)
        if not current_app.debug:
            _ASSET_BODIES[filename] = cached
    return cached


def asset_url(filename):
    """The address of a static file, with its content hash in the path (cached for a year)."""
    digests = current_app.extensions.get("hearth_assets")
    if digests is None:  # once per process (not setdefault: its default would be computed every call)
        digests = current_app.extensions["hearth_assets"] = _asset_digests()
    digest = digests.get(filename)
    if digest is None:  # a file added since start-up (development)
        digests.update(_asset_digests())
        digest = digests.get(filename, "0")
    return f"/assets/{digest}/{filename}"


def current_school():
    """The school of the signed-in account; for visitors, the only school when there is one."""
    if "school" in g:
        return g.school
    from .models import School
    school = None
    if current_user and current_user.is_authenticated:
        school = current_user.school
    else:
        first_two = db.session.query(School).order_by(School.id).limit(2).all()
        if len(first_two) == 1:
            school = first_two[0]
    g.school = school
    return school


class RequestIdFilter(logging.Filter):
    """Adds the request's id to every log record made while it is handled."""

    def filter(self, record):
        from flask import has_request_context
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def _unavailable_page():
    """What a page says when it cannot even be rendered (the database is down): nothing that needs
    it. In the reader's language as far as the browser tells it (the language cookie, else
    Accept-Language), since whose account it is cannot be looked up."""
    from flask_babel import force_locale, gettext

    from .i18n import LANGUAGE_COOKIE, available_languages, text_direction
    languages = available_languages()
    code = request.cookies.get(LANGUAGE_COOKIE)
    if code not in languages:
        code = request.accept_languages.best_match(languages) or "en"
    with force_locale(code):
        title = gettext("Try again in a moment")
        text = gettext("Sorry, Hearth cannot show this page just now. Please try again in a minute.")
    return Markup('<!doctype html><html lang="{}" dir="{}"><head><meta charset="utf-8">'
                  '<meta name="viewport" content="width=device-width, initial-scale=1">'
                  "<title>Hearth: {}</title></head><body><main><h1>{}</h1><p>{}</p></main></body></html>"
                  ).format(code, text_direction(code), title, title, text)


def _signed_in_or_unknown():
    """Whether the answer is for a signed-in person; True when that cannot be known (the database
    that holds the accounts is not answering), so that the answer is never cached."""
    try:
        return bool(current_user and current_user.is_authenticated)
    except Exception:
        _forget_failed_transaction()
        return True


def _forget_failed_transaction():
    """Roll back after a database error; with the database gone even that may fail, and the request
    ends without it (its connection is dropped when the session is removed)."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001
        logging.getLogger(__name__).warning("rollback failed: the database is not answering")


def _held_for_review():
    """Staff: how many held comments and messages wait for them (the navigation badge)."""
    from .services.moderation import nav_held
    return nav_held(current_user)


def _unread_messages():
    """Called by the navigation, so that pages without it cost no query."""
    from flask_login import current_user

    from .services.messaging import nav_unread
    return nav_unread(current_user)


def configure_web(app):
    Htmx(app)
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(asset_url=asset_url, csrf_token_value=generate_csrf)
    from .text import linkify
    app.jinja_env.filters["linkify"] = linkify
    from flask_babel import format_decimal
    app.jinja_env.filters["format_number"] = format_decimal
    # A name inside a sentence, isolated so that a Latin name reads right in Arabic or Urdu.
    app.jinja_env.filters["bdi"] = lambda text: Markup("<bdi>{}</bdi>").format(text)
    from .policies import anyone, rule

    @app.route("/assets/<digest>/<path:filename>", endpoint="asset")
    @rule(anyone)
    def asset(digest, filename):
        body, mimetype = _read_asset(filename)
        response = current_app.response_class(body, mimetype=mimetype)
        response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
        return response

    @app.before_request
    def _request_id():
        # First of all (errors are logged with it). One id per request, nginx's when it sends one,
        # in the logs and the answer.
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex

    @app.before_request
    def _load_school():
        if request.endpoint in ("healthz", "readyz"):  # the probes report the database themselves:
            return  # a query here would turn their 503 into a 500 when it is down
        current_school()

    @app.context_processor
    def _context():
        locale = str(get_locale() or "en")
        return {
            "asset_url": asset_url,
            "school": current_school(),
            "lang": locale.replace("_", "-"),
            "text_dir": text_direction(locale),
            "language_choices": [(code, LANGUAGE_NAMES[code]) for code in available_languages()],
            "csrf_token_value": generate_csrf,
            "role_labels": ROLE_LABELS,
            "unread_messages": _unread_messages,
            "held_for_review": _held_for_review,
            "new_request_key": lambda: uuid.uuid4().hex,
        }

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", "geolocation=(), microphone=(), interest-cohort=()")
        headers.setdefault("X-Robots-Tag", "noindex, nofollow")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.endpoint == "media.file" and response.status_code in (200, 206, 304):
            # A photo may be kept, but only as "ask again each time": every use goes back through
            # its access and consent rule, and a 304 carries no image (SECURITY.md 21, 22).
            headers["Cache-Control"] = "private, no-cache"
        elif request.endpoint != "asset":
            if _signed_in_or_unknown():
                headers["Cache-Control"] = "private, no-store"
            else:
                headers.setdefault("Cache-Control", "no-cache")
        return response

    def _error(status, title, message, template="errors/error.html", **extra):
        return render_template(template, status=status, title=title, message=message, **extra), status

    @app.errorhandler(404)
    def _not_found(error):
        return _error(404, _l("Page not found"),
                      _l("We could not find that page. It may have moved, or the link may be wrong."))

    @app.errorhandler(403)
    def _forbidden(error):
        return _error(403, _l("Not allowed"), _l("You do not have permission to do that."))

    @app.errorhandler(405)
    def _method(error):
        return _error(405, _l("Not allowed"), _l("That action is not available here."))

    @app.errorhandler(413)
    def _too_large(error):
        return _error(413, _l("File too large"),
                      _l("That file is too large to upload. Please choose a smaller one."))

    @app.errorhandler(CSRFError)
    def _csrf(error):
        return _error(400, _l("Please try again"),
                      _l("This form had expired. Go back, reload the page and send it again."))

    @app.errorhandler(429)
    def _too_many(error):
        retry = getattr(error, "retry_after", None)
        response_headers = {}
        limit = getattr(error, "limit", None)
        seconds = None
        try:
            from .extensions import limiter
            window = limiter.current_limit
            if window is not None:
                import time
                seconds = max(1, int(window.reset_at - time.time()))
        except Exception:  # the page must render even if the limiter cannot say
            seconds = None
        if retry:
            seconds = retry
        minutes = max(1, -(-(seconds or 300) // 60))
        if seconds:
            response_headers["Retry-After"] = str(seconds)
        body = render_template("errors/too_many.html", minutes=minutes, limit=limit)
        return body, 429, response_headers

    @app.errorhandler(500)
    def _server_error(error):
        try:
            db.session.rollback()
            return _error(500, _l("Something went wrong"),
                          _l("Sorry, something went wrong on our side. Please try again in a moment."))
        except Exception:  # the page needs the database (the school, the reader): it may be what failed
            _forget_failed_transaction()
            from sqlalchemy.exc import InterfaceError, OperationalError
            down = isinstance(getattr(error, "original_exception", None), (OperationalError, InterfaceError))
            page = str(_unavailable_page())
            return (page, 503, {"Retry-After": "30"}) if down else (page, 500)

    @app.route("/healthz", endpoint="healthz")
    @rule(anyone)
    def healthz():
        try:
            db.session.execute(db.text("SELECT 1"))
        except Exception:
            db.session.rollback()
            return {"status": "database unavailable"}, 503
        return {"status": "ok"}

    @app.route("/readyz", endpoint="readyz")
    @rule(anyone)
    def readyz():
        """Ready for traffic: the database answers and, when configured, Redis does too."""
        checks = {}
        try:
            db.session.execute(db.text("SELECT 1"))
            checks["database"] = "ok"
        except Exception:
            db.session.rollback()
            checks["database"] = "unavailable"
        if current_app.config.get("REDIS_URL"):
            import redis
            try:
                redis.Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=1,
                                     socket_connect_timeout=1).ping()
                checks["redis"] = "ok"
            except redis.RedisError:
                checks["redis"] = "unavailable"
        ready = all(value == "ok" for value in checks.values())
        return {"status": "ok" if ready else "not ready", **checks}, 200 if ready else 503

    @app.after_request
    def _request_id_header(response):
        if "request_id" in g:
            response.headers["X-Request-ID"] = g.request_id
        return response

    @app.route("/robots.txt", endpoint="robots")
    @rule(anyone)
    def robots():
        return current_app.response_class("User-agent: *\nDisallow: /\n", mimetype="text/plain")

