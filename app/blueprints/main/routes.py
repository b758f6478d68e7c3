"""The front door: send each kind of account to its home; choose a language."""
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
