"""Plain-language privacy pages: one for parents, one for pupils (issue 8 part 8).

Both are open to everyone, signed in or not, and hold no one's data except, for a signed-in parent,
their own children's photo answers. The school is the signed-in account's, or for visitors the only
(or first) school on this server.
"""
from flask import Blueprint
from flask_login import current_user
from sqlalchemy import select

from ...extensions import db
from ...htmx import render
from ...models import School
from ...policies import anyone, rule
from ...services import consent, retention
from ...web import current_school

bp = Blueprint("privacy", __name__, url_prefix="/privacy")


def _school():
    return current_school() or db.session.scalar(select(School).order_by(School.id).limit(1))


@bp.route("/")
@rule(anyone)
def parents():
    school = _school()
    notice = None
    periods = None
    if school is not None:
        notice = next((d for d in consent.current_documents(school.id) if d.kind == "privacy"), None)
        periods = retention.effective_periods(school)
    children = current_user.children if current_user.is_authenticated and current_user.is_parent else []
    return render("privacy/parents.html", school=school, notice=notice, periods=periods,
                  children=children)


@bp.route("/pupils")
@rule(anyone)
def pupils():
    return render("privacy/pupils.html", school=_school())
