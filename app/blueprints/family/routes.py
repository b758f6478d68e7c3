"""A parent's home: their children, each with class and teachers."""
from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import ParentLink, Pupil, SchoolClass
from ...policies import can_view_pupil, get_or_404, parent, rule

bp = Blueprint("family", __name__, url_prefix="/family")


def children_of(user):
    """The parent's linked children, with class and teachers, in a fixed number of queries."""
    stmt = (select(Pupil).join(ParentLink, ParentLink.pupil_id == Pupil.id)
            .where(ParentLink.parent_id == user.id, Pupil.status == "active")
            .options(selectinload(Pupil.school_class).selectinload(SchoolClass.teachers))
            .order_by(Pupil.display_name))
    return list(db.session.scalars(stmt))


@bp.route("/")
@rule(parent)
def index():
    return render_template("family/index.html", children=children_of(current_user))


@bp.route("/child/<int:pupil_id>")
@rule(parent)
def child(pupil_id):
    pupil = get_or_404(Pupil, pupil_id, can_view_pupil)
    return render_template("family/child.html", pupil=pupil)
