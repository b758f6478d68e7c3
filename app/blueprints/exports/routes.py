"""A family's own data (UK GDPR article 15): everything Hearth holds about a child, as one archive (issue 8).

A parent downloads their account and their linked children (or one child); the headteacher
downloads any pupil of the school. A child the parent is not linked to, or another school's pupil:
404. Building an archive reads every table and copies every photo, so downloads are limited per
account (EXPORT_LIMIT, a few an hour).
"""
from flask import Blueprint, current_app, send_file
from flask_login import current_user
from sqlalchemy import select

from ...extensions import db, limiter
from ...htmx import render
from ...models import ParentLink, Pupil
from ...policies import can_view_pupil, get_or_404, headteacher, parent, rule, same_school
from ...services import exports

bp = Blueprint("exports", __name__, url_prefix="/exports")

DEFAULT_LIMIT = "5 per hour"


def _limit():
    return current_app.config.get("EXPORT_LIMIT", DEFAULT_LIMIT)


def _account_key():
    """Per account, not per address: a whole school may share one."""
    return f"export:{current_user.kind_of_account}:{current_user.id}"


limited = limiter.shared_limit(_limit, scope="export", key_func=_account_key)


def linked_child(account, pupil):
    """A parent's own child (linked, in their school), whether or not the child has left."""
    return bool(account.is_parent and can_view_pupil(account, pupil))


def _send(made):
    response = send_file(made.file, mimetype="application/zip", as_attachment=True,
                         download_name=made.filename, conditional=False, etag=False, max_age=None)
    response.content_length = made.size
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/")
@rule(parent)
def index():
    children = list(db.session.scalars(
        select(Pupil).join(ParentLink, ParentLink.pupil_id == Pupil.id)
        .where(ParentLink.parent_id == current_user.id, Pupil.school_id == current_user.school_id)
        .order_by(Pupil.display_name, Pupil.id)))
    return render("exports/index.html", children=children)


@bp.route("/family.zip")
@rule(parent)
@limited
def family():
    return _send(exports.build_family_export(current_user._get_current_object()))


@bp.route("/children/<int:pupil_id>.zip")
@rule(parent)
@limited
def child(pupil_id):
    pupil = get_or_404(Pupil, pupil_id, linked_child)
    return _send(exports.build_child_export(current_user._get_current_object(), pupil))


@bp.route("/pupils/<int:pupil_id>")
@rule(headteacher)
@limited
def pupil(pupil_id):
    pupil = get_or_404(Pupil, pupil_id, same_school)
    return _send(exports.build_pupil_export(pupil, current_user._get_current_object()))
