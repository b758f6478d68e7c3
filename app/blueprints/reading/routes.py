"""Home reading log: a parent records reading at home; staff approve it into a team point.

Parents: /reading/child/<id> (their own children only). Staff: /reading/queue, the pending entries
of the pupils they may award points to (their classes; senior leaders and the head: the school).
"""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from ...extensions import db
from ...models import Pupil, ReadingLogEntry
from ...policies import can_award_points, can_view_pupil, get_or_404, parent, record_refusal, rule, same_school, staff
from ...services import points
from .forms import ReadingForm, ReviewForm, new_request_key

bp = Blueprint("reading", __name__, url_prefix="/reading")

STATUS_LABELS = {
    "pending": _l("Waiting for the teacher"),
    "approved": _l("Earned a point"),
    "declined": _l("Not approved"),
}
MAX_REVIEW = 500


def own_child(account, pupil_obj):
    """A parent's own child who is still at the school."""
    return pupil_obj.status == "active" and can_view_pupil(account, pupil_obj)


def may_review(account, entry):
    """Staff review reading for the pupils they may award points to."""
    return same_school(account, entry) and can_award_points(account, entry.pupil)


@bp.app_template_global()
def reading_waiting_count():
    """Entries waiting for the signed-in member of staff (shown on their classes page)."""
    if not (current_user.is_authenticated and current_user.is_staff):
        return 0
    return points.reading_waiting_count(current_user)


@bp.route("/child/<int:pupil_id>", methods=["GET", "POST"])
@rule(parent)
def child(pupil_id):
    pupil = get_or_404(Pupil, pupil_id, own_child)
    form = ReadingForm()
    if form.validate_on_submit():
        key = form.key()
        try:
            points.log_reading(current_user._get_current_object(), pupil, form.read_on.data, form.minutes.data,
                               form.title.data, request_key=f"{current_user.id}:{key}" if key else None)
        except points.ReadingLogError as error:
            for name, message in error.errors.items():
                getattr(form, name).errors.append(message)
        except points.PointsError:
            abort(404)
        else:
            flash(_("Thank you. The reading is recorded; the teacher will look at it soon."), "success")
            return redirect(url_for(".child", pupil_id=pupil.id))
        if not key:
            form.request_key.data = new_request_key()
    elif request.method == "GET":
        form.read_on.data = points.school_today(pupil.school)
        form.request_key.data = new_request_key()
    # Errors come back with 200: htmx (boosted forms) does not swap a 4xx answer.
    return render_template("reading/child.html", pupil=pupil, form=form, status_labels=STATUS_LABELS,
                           entries=points.reading_entries(pupil.id), max_minutes=points.MAX_READING_MINUTES)


@bp.route("/queue")
@rule(staff)
def queue():
    entries = points.reading_queue(current_user)
    form = ReviewForm(formdata=None)
    form.shown.data = ",".join(str(entry.id) for entry in entries)
    return render_template("reading/queue.html", entries=entries, form=form,
                           waiting=points.reading_waiting_count(current_user))


def _entries(ids):
    """The entries named in the form, each checked through the policy: one that is missing or out
    of reach makes the whole request 404, and nothing is written."""
    found = {entry.id: entry for entry in db.session.scalars(
        select(ReadingLogEntry).where(ReadingLogEntry.id.in_(ids))
        .options(db.joinedload(ReadingLogEntry.pupil).joinedload(Pupil.school_class)))}
    for ident in ids:
        entry = found.get(ident)
        if entry is None or not may_review(current_user, entry):
            if entry is not None:
                record_refusal(request.endpoint, "readinglogentry", ident)
            abort(404)
    return [found[ident] for ident in dict.fromkeys(ids)]


@bp.route("/review", methods=["POST"])
@rule(staff)
def review():
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    ids = form.shown_ids() if form.approve_all.data else list(form.entry.data or [])
    if len(ids) > MAX_REVIEW:
        abort(400)
    if not ids:
        flash(_("Tick at least one entry first."), "error")
        return redirect(url_for(".queue"))
    approve = not form.decline.data
    try:
        done = points.review_reading(current_user._get_current_object(), _entries(ids), approve=approve)
    except points.PointsError as error:
        flash(str(error), "error")
        return redirect(url_for(".queue"))
    if approve:
        flash(ngettext("%(num)d entry approved: a team point for it.",
                       "%(num)d entries approved: a team point for each.", len(done)), "success")
    else:
        flash(ngettext("%(num)d entry marked as not approved.",
                       "%(num)d entries marked as not approved.", len(done)), "info")
    return redirect(url_for(".queue"))
