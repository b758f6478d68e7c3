"""Parents acknowledge the privacy notice and the acceptable-use rules before anything else."""
from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...policies import parent, rule
from ...services import consent

bp = Blueprint("consent", __name__, url_prefix="/consent")

# Endpoints a parent may reach before acknowledging.
OPEN_ENDPOINTS = {"consent.acknowledge", "auth.logout", "main.set_language", "asset", "healthz",
                  "robots"}


@bp.before_app_request
def _require_acknowledgement():
    if not (current_user.is_authenticated and current_user.is_parent):
        return None
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if consent.outstanding_documents(current_user):
        return redirect(url_for("consent.acknowledge", next=request.full_path if request.method == "GET" else None))
    return None


@bp.route("/acknowledge", methods=["GET", "POST"])
@rule(parent)
def acknowledge():
    documents = consent.outstanding_documents(current_user)
    if not documents:
        return redirect(url_for("main.home"))
    problem = None
    if request.method == "POST":
        from flask_wtf.csrf import validate_csrf  # noqa: F401  (CSRFProtect already checked it)
        if request.form.get("agree") == "yes":
            consent.acknowledge(current_user._get_current_object(), documents)
            from ..main.routes import safe_next
            return redirect(safe_next(request.args.get("next")))
        problem = _("Please tick the box to say you have read these. If you have questions, "
                    "contact the school office.")
    return render_template("consent/acknowledge.html", documents=documents, problem=problem)
