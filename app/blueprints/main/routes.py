"""The front door: send each kind of account to its home; choose a language; the web app manifest."""
import json

from flask import Blueprint, current_app, redirect, request, url_for
from flask_login import current_user

from ...extensions import db
from ...i18n import LANGUAGE_COOKIE, available_languages
from ...policies import anyone, rule

bp = Blueprint("main", __name__)


@bp.route("/")
@rule(anyone)
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.is_pupil:
        return redirect(url_for("classroom.me"))
    if current_user.is_parent:
        return redirect(url_for("family.index"))
    return redirect(url_for("classes.index"))


def safe_next(target, default="main.home"):
    """Only ever redirect to a path on this site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for(default)


@bp.route("/language", methods=["POST"])
@rule(anyone)
def set_language():
    code = request.form.get("language", "")
    target = safe_next(request.form.get("next"))
    response = redirect(target.rstrip("?"))
    if code in available_languages():
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
        if current_user.is_authenticated and not current_user.is_pupil:
            current_user.locale = code
            db.session.commit()
    return response


@bp.route("/manifest.webmanifest")
@rule(anyone)
def manifest():
    """The web app manifest, so that a parent can add Hearth to a phone's home screen (issue 9).
    No service worker: pages keep working without JavaScript and within their weight budgets."""
    from flask_babel import get_locale

    from ...i18n import text_direction
    from ...web import asset_url, current_school
    school = current_school()
    locale = str(get_locale() or "en")
    name = school.name if school else "Hearth"
    body = {
        "name": name,
        "short_name": name if len(name) <= 12 else "Hearth",
        "lang": locale.replace("_", "-"),
        "dir": text_direction(locale),
        "start_url": url_for("main.home"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#f6f4ef",
        "theme_color": "#8a3b12",
        "icons": [
            {"src": asset_url("img/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": asset_url("img/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": asset_url("img/icon-maskable-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "maskable"},
        ],
    }
    response = current_app.response_class(json.dumps(body, ensure_ascii=False),
                                          mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
