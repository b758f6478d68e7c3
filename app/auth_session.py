"""Sessions: who is signed in, for how long, and ending every session of a user at once."""
import time

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from .extensions import db


def configure_login(app, login_manager):
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_account)

    @app.before_request
    def _enforce_session_limits():
        if not current_user.is_authenticated:
            return None
        now = int(time.time())
        idle, absolute = current_app.config["SESSION_LIMITS"][current_user.session_kind]
        started = session.get("auth_at", now)
        seen = session.get("seen_at", now)
        if now - seen > idle.total_seconds() or now - started > absolute.total_seconds():
            kind = current_user.session_kind
            end_session()
            flash(_l("You were signed out because the session ended. Please sign in again."), "info")
            if kind == "pupil":
                return full_page_redirect(redirect(url_for("classroom.start")))
            return full_page_redirect(redirect(url_for(
                "auth.login", next=request.full_path if request.method == "GET" and not request.htmx else None)))
        if now - seen > 60:  # refresh at most once a minute, to keep responses small
            session["seen_at"] = now
        return None


def full_page_redirect(response):
    """For an htmx request, turn a redirect (to sign in, say) into a whole-page one: without this the
    sign-in page would be swapped into the part of the page that asked (a live poll, a tile)."""
    if request.headers.get("HX-Request") == "true" and response.status_code in (301, 302, 303, 307, 308):
        page = current_app.response_class(status=200)
        page.headers["HX-Redirect"] = response.headers["Location"]
        return page
    return response


def load_account(account_id):
    """Load the account named in the session, refusing stale session versions and suspended users."""
    from .models import Pupil, User
    try:
        kind, ident, version = account_id.split(":")
        ident, version = int(ident), int(version)
    except (ValueError, AttributeError):
        return None
    model = User if kind == "u" else Pupil if kind == "p" else None
    if model is None:
        return None
    account = db.session.get(model, ident)
    if account is None or account.session_version != version or not account.is_active:
        return None
    g.school = account.school
    return account


def start_session(account):
    """A new session on sign-in (SECURITY.md 8): the old cookie's contents are dropped."""
    session.clear()
    login_user(account, remember=False, fresh=True)
    if not account.is_pupil:
        from .services.safeguarding import unread_warning
        if unread_warning(account) is not None:
            session["warning_pending"] = True  # read before anything else (issue 8)
    now = int(time.time())
    session["auth_at"] = now
    session["seen_at"] = now
    session.permanent = True
    g.school = account.school


def end_session():
    logout_user()
    session.clear()


def revoke_all_sessions(account):
    """Every session of this account, in every process, is refused from its next request."""
    account.session_version = (account.session_version or 0) + 1
