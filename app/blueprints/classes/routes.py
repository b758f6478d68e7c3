"""Teachers' class pages: my classes, a class's pupils, passcode letters for a whole class."""
from datetime import datetime
from zoneinfo import ZoneInfo

import segno
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from ...extensions import db
from ...models import Pupil, SchoolClass, class_teachers
from ...policies import can_manage_class, can_manage_pupil, can_manage_school, can_view_class, get_or_404, rule, staff
from ...services import monitoring, passcodes
from ...services.school_calendar import current_academic_year
from .forms import LettersForm, RevokeForm

bp = Blueprint("classes", __name__, url_prefix="/classes")


@bp.app_template_test("routable")
def routable(path):
    """True when some view answers GET at this path: links to pages other parts may not have yet."""
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(path, method="GET")
    except RequestRedirect:
        return True
    except (NotFound, MethodNotAllowed):
        return False
    return True


def sees_every_class(user):
    return user.is_senior or can_manage_school(user)


def this_academic_year(school):
    return current_academic_year(datetime.now(ZoneInfo(school.timezone)).date())


def classes_for(user, academic_year):
    """A teacher's own classes; every class of the school for senior leaders and managers."""
    stmt = (select(SchoolClass)
            .where(SchoolClass.school_id == user.school_id, SchoolClass.academic_year == academic_year,
                   SchoolClass.archived_at.is_(None))
            .options(selectinload(SchoolClass.teachers))
            .order_by(SchoolClass.year_group, SchoolClass.name))
    if not sees_every_class(user):
        stmt = stmt.join(class_teachers, class_teachers.c.class_id == SchoolClass.id).where(
            class_teachers.c.user_id == user.id)
    return list(db.session.scalars(stmt))


def pupil_counts(class_ids):
    if not class_ids:
        return {}
    rows = db.session.execute(
        select(Pupil.class_id, func.count(Pupil.id))
        .where(Pupil.class_id.in_(class_ids), Pupil.status == "active").group_by(Pupil.class_id))
    return dict(rows.all())


def pupils_of(school_class):
    return list(db.session.scalars(
        select(Pupil).where(Pupil.class_id == school_class.id, Pupil.status == "active",
                            Pupil.school_id == school_class.school_id)
        .options(selectinload(Pupil.team)).order_by(Pupil.display_name, Pupil.id)))


@bp.route("/")
@rule(staff)
def index():
    year = this_academic_year(current_user.school)
    classes = classes_for(current_user, year)
    return render_template("classes/index.html", classes=classes,
                           counts=pupil_counts([c.id for c in classes]),
                           every_class=sees_every_class(current_user), academic_year=year)


@bp.route("/<int:class_id>")
@rule(staff)
def show(class_id):
    school_class = get_or_404(SchoolClass, class_id, can_view_class)
    monitoring.record_look(current_user._get_current_object(), school_class, "class")
    pupils = pupils_of(school_class)
    ids = [p.id for p in pupils]
    return render_template(
        "classes/show.html", klass=school_class, pupils=pupils,
        parents=passcodes.parent_counts(ids), outstanding=passcodes.outstanding_hints(ids),
        can_manage=can_manage_class(current_user, school_class),
        can_revoke=can_manage_school(current_user), revoke_form=RevokeForm())


def join_address(code=None):
    """The sign-up address printed on a letter: PUBLIC_URL when set, else this request's host."""
    base = current_app.config.get("PUBLIC_URL") or request.host_url
    path = url_for("join.start", code=code) if code else url_for("join.start")
    return base.rstrip("/") + path


def qr_svg(data):
    """An inline SVG QR code: no XML declaration, no style attribute, no separate image request."""
    svg = segno.make(data, error="m").svg_inline(scale=1, omitsize=True, svgclass="qr-code",
                                                 lineclass=None)
    return Markup(svg)


@bp.route("/<int:class_id>/letters", methods=["GET", "POST"])
@rule(staff)
def letters(class_id):
    school_class = get_or_404(SchoolClass, class_id, can_manage_class)
    form = LettersForm()
    if form.validate_on_submit():
        pupils = pupils_of(school_class)
        if form.which.data == "unlinked":
            linked = passcodes.parent_counts([p.id for p in pupils])
            pupils = [p for p in pupils if not linked.get(p.id)]
        if pupils:
            issued = passcodes.issue_passcodes(pupils, current_user._get_current_object())
            # A one-time secret: rendered, not redirected, so the codes are shown exactly once.
            return render_template(
                "classes/letters_print.html", klass=school_class, school_of_class=school_class.school,
                letters=[(pupil, code, qr_svg(join_address(code))) for pupil, code in issued],
                address=join_address(),
                expires=format_date(passcodes.expiry_for(pupils[0]), format="long"))
        form.which.errors = list(form.which.errors or []) + [
            _("Every pupil in this class already has a parent or carer linked. Choose “Every pupil "
              "in the class” to print letters for everyone.") if form.which.data == "unlinked"
            else _("There are no pupils in this class yet.")]
    return render_template("classes/letters.html", klass=school_class, form=form)


@bp.route("/<int:class_id>/pupils/<int:pupil_id>/revoke-passcodes", methods=["POST"])
@rule(staff)
def revoke_passcodes(class_id, pupil_id):
    school_class = get_or_404(SchoolClass, class_id, can_view_class)
    pupil = get_or_404(Pupil, pupil_id, can_manage_pupil)
    if pupil.class_id != school_class.id:
        abort(404)
    form = RevokeForm()
    if form.validate_on_submit():
        count = passcodes.revoke_outstanding(pupil, current_user._get_current_object())
        if count:
            flash(ngettext("%(num)d unused passcode for %(child)s has been cancelled.",
                           "%(num)d unused passcodes for %(child)s have been cancelled.",
                           count, child=pupil.display_name), "success")
        else:
            flash(_("%(child)s had no unused passcodes.", child=pupil.display_name), "info")
    return redirect(url_for("classes.show", class_id=school_class.id))
