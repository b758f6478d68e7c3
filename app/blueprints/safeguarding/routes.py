"""Reports of misuse and the steps that follow: the senior leaders' queue, warnings, suspensions,
endings, reinstatement, and pausing Hearth for families (issue 8)."""

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...auth_session import full_page_redirect
from ...extensions import db
from ...htmx import render
from ...models import ContentReport, User
from ...policies import get_or_404, headteacher, record_refusal, rule, same_school, signed_in
from ...services import safeguarding
from ...services.safeguarding import SafeguardingError
from .forms import NoteForm, PauseForm, ReasonForm, ReportForm, SuspendForm

bp = Blueprint("safeguarding", __name__, url_prefix="/safeguarding")

# Reached while Hearth is paused for families, or before a warning has been read.
OPEN_ENDPOINTS = {"auth.logout", "auth.login", "classroom.sign_out", "main.set_language", "asset",
                  "static", "healthz", "readyz", "robots"}


def senior_leader(account):
    return account.is_authenticated and account.is_senior


def _me():
    return current_user._get_current_object()


@bp.before_app_request
def _paused_for_families():
    if not current_user.is_authenticated or current_user.is_staff or request.endpoint in OPEN_ENDPOINTS:
        return None
    school = current_user.school
    if not safeguarding.paused_for(current_user, school):
        return None
    response = render("safeguarding/paused.html", paused_school=school)
    if request.headers.get("HX-Request") == "true":
        response.headers["HX-Refresh"] = "true"  # show the whole page, not a piece of it
    return response


@bp.before_app_request
def _warning_first():
    if not current_user.is_authenticated or current_user.is_pupil:
        return None
    if request.endpoint in OPEN_ENDPOINTS or request.endpoint in ("safeguarding.warning", "consent.acknowledge"):
        return None
    # Looked up once, when the session starts (auth_session.start_session): giving a warning ends
    # the user's sessions, so they read it at their next sign-in and other pages cost no query.
    if not session.get("warning_pending"):
        return None
    return full_page_redirect(redirect(url_for("safeguarding.warning")))


# ---- reporting ----------------------------------------------------------------------------------

def _back_to(target_type, target):
    if target_type == "post":
        return url_for("stories.post", post_id=target.id)
    if target_type == "portfolio_item":
        return url_for("portfolio.item", item_id=target.id)
    if target_type == "comment":
        if target.post_id:
            return url_for("stories.post", post_id=target.post_id, _anchor=f"comment-{target.id}")
        return url_for("portfolio.item", item_id=target.portfolio_item_id, _anchor=f"comment-{target.id}")
    return url_for("messages.conversation", conversation_id=target.conversation_id, _anchor=f"m{target.id}")


def reportable_or_404(target_type, target_id):
    """What the signed-in reader may report: what they can see and did not write; anything else 404."""
    me = _me()
    target = safeguarding.load_target(target_type, target_id)
    if target is None or not safeguarding.can_view_target(me, target_type, target) \
            or safeguarding.is_own(me, target_type, target):
        if target is not None:
            record_refusal(request.endpoint, target_type, target_id)
        abort(404)
    return target


@bp.route("/report/<target_type>/<int:target_id>", methods=["GET", "POST"])
@rule(signed_in)
def report(target_type, target_id):
    target = reportable_or_404(target_type, target_id)
    form = ReportForm()
    back = _back_to(target_type, target)
    if form.validate_on_submit():
        safeguarding.report(_me(), target_type, target, form.reason.data or "")
        flash(_("Thank you. A senior leader will look at this."), "success")
        return redirect(back)
    return render("safeguarding/report.html", form=form, target=target, target_type=target_type, back=back)


# ---- the queue ----------------------------------------------------------------------------------

@bp.route("/")
@rule(senior_leader)
def queue():
    views = safeguarding.open_reports(current_user.school_id)
    return render("safeguarding/queue.html", views=views)


def _report_or_404(report_id):
    return get_or_404(ContentReport, report_id, same_school)


@bp.route("/reports/<int:report_id>")
@rule(senior_leader)
def report_page(report_id):
    item = _report_or_404(report_id)
    return _report_page(item)


def _report_page(item, note_form=None, reason_form=None, suspend_form=None, status=200):
    view = safeguarding.report_view(item)
    author = view.author
    user_author = author if author is not None and not author.is_pupil else None
    return render("safeguarding/report_page.html", status=status, view=view, item=item,
                  note_form=note_form or NoteForm(formdata=None),
                  reason_form=reason_form or ReasonForm(formdata=None, report_id=item.id),
                  suspend_form=suspend_form or SuspendForm(formdata=None, report_id=item.id, prefix="suspend"),
                  may_act=user_author is not None and safeguarding.may_act_on(_me(), user_author),
                  history=safeguarding.history(user_author) if user_author else [])


@bp.route("/reports/<int:report_id>/dismiss", methods=["POST"])
@rule(senior_leader)
def dismiss(report_id):
    item = _report_or_404(report_id)
    form = NoteForm()
    if form.validate_on_submit():
        safeguarding.dismiss(item, _me(), form.note.data or "")
        flash(_("The report is dismissed."), "success")
    return redirect(url_for(".queue"))


@bp.route("/reports/<int:report_id>/hide", methods=["POST"])
@rule(senior_leader)
def hide(report_id):
    item = _report_or_404(report_id)
    form = NoteForm()
    if form.validate_on_submit():
        safeguarding.hide_content(item, _me(), form.note.data or "")
        flash(_("The content is hidden. Staff still see it, marked as removed."), "success")
    return redirect(url_for(".report_page", report_id=item.id))


# ---- accounts -----------------------------------------------------------------------------------

def _account_or_404(user_id):
    return get_or_404(User, user_id, same_school)


def _acting_on(user_id):
    """The account, when the signed-in senior leader may act on it; 404 otherwise."""
    user = _account_or_404(user_id)
    if not safeguarding.may_act_on(_me(), user):
        record_refusal(request.endpoint, "user", user_id)
        abort(404)
    return user


def _linked_report(form):
    try:
        ident = int(form.report_id.data or 0)
    except ValueError:
        return None
    item = db.session.get(ContentReport, ident) if ident else None
    return item if item is not None and item.school_id == current_user.school_id else None


@bp.route("/accounts/<int:user_id>")
@rule(senior_leader)
def account(user_id):
    return _account_page(_account_or_404(user_id))


def _account_page(user, reason_form=None, suspend_form=None, status=200):
    return render("safeguarding/account.html", status=status, user=user,
                  history=safeguarding.history(user), reports=safeguarding.reports_about(user),
                  may_act=safeguarding.may_act_on(_me(), user),
                  reason_form=reason_form or ReasonForm(formdata=None),
                  suspend_form=suspend_form or SuspendForm(formdata=None, prefix="suspend"))


def _after_action(user, report_item):
    if report_item is not None:
        return redirect(url_for(".report_page", report_id=report_item.id))
    return redirect(url_for(".account", user_id=user.id))


def _problem_page(user, report_item, **forms):
    if report_item is not None:
        return _report_page(report_item, **forms)
    return _account_page(user, **forms)


@bp.route("/accounts/<int:user_id>/warn", methods=["POST"])
@rule(senior_leader)
def warn(user_id):
    user = _acting_on(user_id)
    form = ReasonForm()
    report_item = _linked_report(form)
    if form.validate_on_submit():
        try:
            safeguarding.warn(_me(), user, form.reason.data, report_item)
        except SafeguardingError as error:
            form.reason.errors = [error.message]
        else:
            flash(_("The warning is recorded. %(name)s reads it before anything else.", name=user.name), "success")
            return _after_action(user, report_item)
    return _problem_page(user, report_item, reason_form=form)


@bp.route("/accounts/<int:user_id>/suspend", methods=["POST"])
@rule(senior_leader)
def suspend(user_id):
    user = _acting_on(user_id)
    form = SuspendForm(prefix="suspend")
    report_item = _linked_report(form)
    if form.validate_on_submit():
        try:
            safeguarding.suspend(_me(), user, form.reason.data, form.until.data, report_item)
        except SafeguardingError as error:
            getattr(form, error.field).errors = [error.message]
        else:
            flash(_("%(name)s is suspended and has been signed out everywhere.", name=user.name), "success")
            return _after_action(user, report_item)
    return _problem_page(user, report_item, suspend_form=form)


@bp.route("/accounts/<int:user_id>/end", methods=["POST"])
@rule(senior_leader)
def end(user_id):
    """Two steps: the first post shows what ending means; the second, with confirm=yes, ends."""
    user = _acting_on(user_id)
    form = ReasonForm()
    report_item = _linked_report(form)
    if form.validate_on_submit() and request.form.get("confirm") == "yes":
        try:
            safeguarding.end_account(_me(), user, form.reason.data, report_item)
        except SafeguardingError as error:
            form.reason.errors = [error.message]
        else:
            flash(_("%(name)s's account is ended and has been signed out everywhere.", name=user.name), "success")
            return _after_action(user, report_item)
    return render("safeguarding/end.html", user=user, form=form, report_item=report_item)


@bp.route("/accounts/<int:user_id>/reinstate", methods=["POST"])
@rule(senior_leader)
def reinstate(user_id):
    user = _acting_on(user_id)
    form = ReasonForm()
    if form.validate_on_submit():
        safeguarding.reinstate(_me(), user, form.reason.data or "")
        flash(_("%(name)s's account is active again.", name=user.name), "success")
    return redirect(url_for(".account", user_id=user.id))


# ---- a warning the user must read -----------------------------------------------------------------

@bp.route("/warning", methods=["GET", "POST"])
@rule(signed_in)
def warning():
    me = _me()
    action = None if me.is_pupil else safeguarding.unread_warning(me)
    if action is None:
        session.pop("warning_pending", None)
        return redirect(url_for("main.home"))
    form = NoteForm()
    if request.method == "POST" and form.validate_on_submit():
        safeguarding.acknowledge_warning(me, action)
        if safeguarding.unread_warning(me) is None:
            session.pop("warning_pending", None)
        return redirect(url_for(".warning"))
    return render("safeguarding/warning.html", action=action, form=form)


# ---- pausing Hearth for families --------------------------------------------------------------------

@bp.route("/pause", methods=["GET", "POST"])
@rule(headteacher)
def pause():
    school = current_user.school
    form = PauseForm() if request.method == "POST" else PauseForm(message=school.pause_message)
    if form.validate_on_submit():
        try:
            safeguarding.pause(school, _me(), form.message.data)
        except SafeguardingError as error:
            form.message.errors = [error.message]
        else:
            flash(_("Hearth is paused for every parent and pupil."), "success")
            return redirect(url_for(".pause"))
    return render("safeguarding/pause.html", form=form, paused_school=school,
                  status=200)


@bp.route("/unpause", methods=["POST"])
@rule(headteacher)
def unpause():
    form = NoteForm()
    if form.validate_on_submit():
        safeguarding.unpause(current_user.school, _me())
        flash(_("Hearth is open again for parents and pupils."), "success")
    return redirect(url_for(".pause"))


def open_report_count():
    """For the navigation badge (senior leaders)."""
    if not (current_user.is_authenticated and current_user.is_senior):
        return 0
    return safeguarding.open_report_count(current_user.school_id)


@bp.app_context_processor
def _safeguarding_context():
    return {"open_report_count": open_report_count}

