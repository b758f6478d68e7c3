"""Team points: the teacher's class screen (award in one tap, undo) and the school's categories.

The class screen is made for a school iPad and works with JavaScript off: one form of pupil
checkboxes, the categories as its submit buttons. With htmx the award answers only the grid of
tiles (fresh request key, selection cleared) plus the confirmation, out of band.
"""
from uuid import uuid4

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ...extensions import db
from ...htmx import render, wants_fragment
from ...models import PointCategory, SchoolClass
from ...models.base import utcnow
from ...policies import can_view_class, get_or_404, rule, same_school, school_manager, staff, teaches
from ...services import monitoring, points
from ...services.points import CategoryError, PointsError
from .forms import (
    ICON_LABELS,
    KIND_LABELS,
    AwardForm,
    CategoryForm,
    ConfirmForm,
    MoveForm,
    NeedsWorkForm,
    UndoForm,
)

bp = Blueprint("points", __name__, url_prefix="/points")


def _me():
    return current_user._get_current_object()


def can_award_in_class(account, school_class):
    """The class screen: the class's own teachers, and senior leaders (who award to any pupil)."""
    return bool(can_view_class(account, school_class) and school_class.archived_at is None
                and (teaches(account, school_class) or account.is_senior))


@bp.app_template_test("awardable")
def _awardable(school_class):
    """`{% if klass is awardable %}`: show the "Team points" link to those who may use it."""
    return current_user.is_authenticated and can_award_in_class(current_user, school_class)


# ---- the class screen ----------------------------------------------------------------------------

def _class(class_id):
    return get_or_404(SchoolClass, class_id, can_award_in_class)


def _selection(pupils):
    """Pupils ticked by the Select buttons (GET ?select=all or ?team=<id>): works with JS off."""
    if request.args.get("select") == "all":
        return {p.id for p in pupils}
    team_id = request.args.get("team", type=int)
    if team_id is not None:
        return {p.id for p in pupils if p.team_id == team_id}
    return set()


def _sentence(awards):
    first, count = awards[0], len(awards)
    if first.needs_work:
        # Named nowhere on this screen: it may be shown to the class (SECURITY.md 23).
        text = ngettext("A needs-work point has been recorded for %(num)d pupil.",
                        "A needs-work point has been recorded for %(num)d pupils.", count)
    elif count == 1:
        text = ngettext("%(num)d point for %(name)s — %(category)s", "%(num)d points for %(name)s — %(category)s",
                        first.value, name=first.pupil.display_name, category=first.category.name)
    else:
        text = ngettext("%(num)d point each for %(count)d pupils — %(category)s",
                        "%(num)d points each for %(count)d pupils — %(category)s",
                        first.value, count=count, category=first.category.name)
    if all(a.undone_at is not None for a in awards):
        return _("Undone: %(what)s", what=text)
    return text


def _outcome(awards):
    """What the confirmation area says about one request's awards, with Undo while it is allowed."""
    if not awards:
        return None
    undone = all(a.undone_at is not None for a in awards)
    in_time = utcnow() - min(a.awarded_at for a in awards) <= points.UNDO_WINDOW
    return {"kind": "undone" if undone else "awarded", "text": _sentence(awards),
            "key": awards[0].request_key, "can_undo": in_time and not undone}


def _board(klass, form=None, selected=None, awards=None, message=None, block=None, status=200, trigger=None):
    """The class screen, or one of its blocks. `selected` None: the Select buttons' choice."""
    pupils, today = points.class_board(klass)
    if selected is None:
        selected = _selection(pupils)
    outcome = {"kind": "error", "text": message} if message else _outcome(awards)
    fragment = bool(block) and wants_fragment()
    school = klass.school
    return render(
        "points/class.html", block=block, status=status, trigger=trigger,
        klass=klass, pupils=pupils, today=today, selected=set(selected), outcome=outcome,
        form=form or AwardForm(formdata=None), request_key=uuid4().hex,
        teams=sorted({p.team for p in pupils if p.team}, key=lambda t: t.name),
        categories=[] if fragment else points.categories(school))


@bp.route("/class/<int:class_id>")
@rule(staff)
def class_screen(class_id):
    klass = _class(class_id)
    if not wants_fragment():  # the grid refreshing itself is the same look
        monitoring.record_look(_me(), klass, "points")
    key = request.args.get("done", "")
    awards = points.awards_for_key(_me(), key) if 0 < len(key) <= 64 else None
    return _board(klass, awards=awards, block="grid")


@bp.route("/class/<int:class_id>/award", methods=["POST"])
@rule(staff)
def award(class_id):
    klass = _class(class_id)
    form = AwardForm()
    try:
        if not form.validate_on_submit():
            raise PointsError(form.note.errors[0] if form.note.errors
                              else _("Tap one or more pupils, then a category."))
        pupils = points.pupils_by_ids(klass.school, form.pupil.data)
        category = db.session.get(PointCategory, form.category_id.data)
        awards = points.award_points(_me(), pupils, category, form.request_key.data, note=form.note.data)
    except PointsError as error:
        # Refused, nothing written: the ticks and the note are kept, the reason shown.
        if wants_fragment():
            return _board(klass, form=form, selected=form.pupil.data or (), message=str(error),
                          block="award_result")
        return _board(klass, form=form, selected=form.pupil.data or (), message=str(error), status=422)
    if wants_fragment():
        return _board(klass, selected=(), awards=awards, block="award_result", trigger="pointsChanged")
    return redirect(url_for(".class_screen", class_id=klass.id, done=form.request_key.data))


@bp.route("/class/<int:class_id>/undo", methods=["POST"])
@rule(staff)
def undo(class_id):
    klass = _class(class_id)
    form = UndoForm()
    try:
        if not form.validate_on_submit():
            raise PointsError(_("There is nothing to undo."))
        awards = points.undo_awards(_me(), form.request_key.data)
    except PointsError as error:
        if wants_fragment():
            return _board(klass, selected=(), message=str(error), block="award_result")
        flash(str(error), "error")
        return redirect(url_for(".class_screen", class_id=klass.id))
    if wants_fragment():
        return _board(klass, selected=(), awards=awards, block="award_result", trigger="pointsChanged")
    return redirect(url_for(".class_screen", class_id=klass.id, done=form.request_key.data))


# ---- the school's categories ----------------------------------------------------------------------

def _category(category_id):
    return get_or_404(PointCategory, category_id, same_school)


def _show_error(form, error):
    target = getattr(form, error.field, None) if getattr(error, "field", None) else None
    if target is not None:
        target.errors = list(target.errors) + [str(error)]
    else:
        flash(str(error), "error")


def _categories_page(form, status=200):
    school = current_user.school
    return render("points/categories.html", status=status, form=form,
                  all_categories=points.categories(school, include_retired=True, kinds=points.CATEGORY_KINDS),
                  needs_work_form=NeedsWorkForm(formdata=None, enabled=school.needs_work_enabled),
                  kind_labels=KIND_LABELS, icon_labels=ICON_LABELS)


@bp.route("/categories", methods=["GET", "POST"])
@rule(school_manager)
def categories():
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            category = points.add_category(current_user.school, _me(), name=form.name.data, icon=form.icon.data,
                                           value=form.value.data, kind=form.kind.data)
        except CategoryError as error:
            _show_error(form, error)
        else:
            flash(_("The category %(name)s has been added.", name=category.name), "success")
            return redirect(url_for(".categories"))
    return _categories_page(form)


@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
@rule(school_manager)
def category_edit(category_id):
    category = _category(category_id)
    form = CategoryForm(obj=category)
    if form.validate_on_submit():
        try:
            points.update_category(category, _me(), name=form.name.data, icon=form.icon.data,
                                   value=form.value.data, kind=form.kind.data)
        except CategoryError as error:
            _show_error(form, error)
        else:
            flash(_("The category %(name)s has been saved.", name=category.name), "success")
            return redirect(url_for(".categories"))
    return render("points/category_form.html", form=form, category=category)


@bp.route("/categories/<int:category_id>/move", methods=["POST"])
@rule(school_manager)
def category_move(category_id):
    category = _category(category_id)
    form = MoveForm()
    if form.validate_on_submit():
        points.move_category(category, _me(), form.direction.data)
    return redirect(url_for(".categories"))


@bp.route("/categories/<int:category_id>/retire", methods=["POST"])
@rule(school_manager)
def category_retire(category_id):
    category = _category(category_id)
    if ConfirmForm().validate_on_submit():
        points.retire_category(category, _me())
        flash(_("%(name)s is retired: it is no longer offered, and its points are kept.", name=category.name),
              "success")
    return redirect(url_for(".categories"))


@bp.route("/categories/<int:category_id>/restore", methods=["POST"])
@rule(school_manager)
def category_restore(category_id):
    category = _category(category_id)
    if ConfirmForm().validate_on_submit():
        points.restore_category(category, _me())
        flash(_("%(name)s is back in use.", name=category.name), "success")
    return redirect(url_for(".categories"))


@bp.route("/categories/needs-work", methods=["POST"])
@rule(school_manager)
def needs_work():
    form = NeedsWorkForm()
    if form.validate_on_submit():
        school = points.set_needs_work(current_user.school, _me(), form.enabled.data)
        flash(_("Needs-work categories are now in use.") if school.needs_work_enabled
              else _("Needs-work categories are now turned off."), "success")
    return redirect(url_for(".categories"))
