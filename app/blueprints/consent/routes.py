"""Parents acknowledge the privacy notice and the acceptable-use rules before anything else."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...policies import headteacher, parent, rule
from ...services import consent
from .forms import PublishDocumentForm

bp = Blueprint("consent", __name__, url_prefix="/consent")

# Endpoints a parent may reach before acknowledging.
OPEN_ENDPOINTS = {"consent.acknowledge", "auth.logout", "main.set_language", "asset", "healthz",
                  "robots", "privacy.parents", "privacy.pupils"}


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


# ---- the head publishes new versions -----------------------------------------------------------

@bp.route("/documents")
@rule(headteacher)
def documents():
    """The current privacy notice and rules, how many parents have accepted each, and how to change them."""
    current = consent.current_documents(current_user.school_id)
    accepted, parents = consent.acknowledgement_counts(current_user.school_id, current)
    return render_template("consent/documents.html", documents=current, accepted=accepted, parents=parents)


@bp.route("/documents/<kind>/new", methods=["GET", "POST"])
@rule(headteacher)
def publish(kind):
    """A new version: every parent is asked to read and accept it at their next visit."""
    if kind not in consent.DOCUMENT_KINDS:
        abort(404)
    school = current_user.school
    current = next((d for d in consent.current_documents(school.id) if d.kind == kind), None)
    form = PublishDocumentForm()
    if request.method == "GET":
        if request.args.get("start") == "default" or current is None:
            form.title.data, form.body.data = consent.default_text(school, kind)
        else:
            form.title.data, form.body.data = current.title, current.body
    elif form.validate_on_submit():
        title, body = form.title.data.strip(), form.body.data.strip().replace("\r\n", "\n")
        if current is not None and (title, body) == (current.title, current.body.strip()):
            form.body.errors.append(_("This is the same as version %(version)d. Change something, or go back.",
                                      version=current.version))
        else:
            document = consent.publish_new_version(school, kind, title, body, by=current_user._get_current_object())
            flash(_("Version %(version)d is published. Every parent will be asked to read and accept it at "
                    "their next visit.", version=document.version), "success")
            return redirect(url_for(".documents"))
    return render_template("consent/publish.html", form=form, kind=kind, current=current)
