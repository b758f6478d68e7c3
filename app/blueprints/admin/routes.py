"""Running the school: settings, classes, teams, pupils, the CSV import, staff, the year-end rollover.

For the headteacher and the staff the head allows (``school_manager``); settings and the rollover
for the headteacher only. Everything is scoped to the signed-in user's school: objects of another
school are looked up through a policy and answer 404.
"""
import base64
import binascii

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ...htmx import render, wants_fragment
from ...models import Pupil, SchoolClass, StaffInvite, Team, User
from ...models.people import STAFF_ROLES
from ...policies import (
    can_invite_role,
    can_manage_class,
    can_manage_pupil,
    get_or_404,
    headteacher,
    rule,
    same_school,
    school_manager,
)
from ...services import school_admin
from ...services.school_admin import AdminError, ImportRejected
from .forms import (
    COLOUR_LABELS,
    ClassForm,
    ConfirmForm,
    ImportConfirmForm,
    ImportUploadForm,
    InviteForm,
    ManagerForm,
    MovePupilForm,
    PupilForm,
    RolloverForm,
    SchoolSettingsForm,
    TeamForm,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _school():
    return current_user.school


def _me():
    return current_user._get_current_object()


def _show_error(form, error):
    """Put a service's complaint next to its field, or at the top of the page."""
    target = getattr(form, error.field, None) if error.field else None
    if target is not None:
        target.errors = list(target.errors) + [str(error)]
    else:
        flash(str(error), "error")


# ---- overview and settings ---------------------------------------------------------------------

@bp.route("/")
@rule(school_manager)
def index():
    return render("admin/index.html", overview=school_admin.overview(_school()))


@bp.route("/settings", methods=["GET", "POST"])
@rule(headteacher)
def settings():
    school = _school()
    form = SchoolSettingsForm(obj=school)
    if form.validate_on_submit():
        try:
            school_admin.update_school_settings(
                school, _me(), name=form.name.data, timezone=form.timezone.data,
                office_phone=form.office_phone.data, office_email=form.office_email.data,
                default_locale=form.default_locale.data, digest_time=form.digest_time.data or None)
        except AdminError as error:
            _show_error(form, error)
        else:
            flash(_("The school's settings have been saved."), "success")
            return redirect(url_for(".settings"))
    return render("admin/settings.html", form=form)


# ---- classes -----------------------------------------------------------------------------------

def _managed_class(class_id):
    klass = get_or_404(SchoolClass, class_id, can_manage_class)
    if klass.archived_at is not None:
        abort(404)
    return klass


@bp.route("/classes")
@rule(school_manager)
def classes():
    school = _school()
    return render("admin/classes.html", rows=school_admin.class_list(school),
                  overview=school_admin.overview(school))


@bp.route("/classes/new", methods=["GET", "POST"])
@rule(school_manager)
def class_new():
    school = _school()
    form = ClassForm(staff=school_admin.teacher_choices(school))
    if form.validate_on_submit():
        try:
            klass = school_admin.create_class(school, _me(), name=form.name.data,
                                              year_group=form.year_group.data,
                                              teacher_ids=form.teachers.data)
        except AdminError as error:
            _show_error(form, error)
        else:
            flash(_("Class %(name)s has been created.", name=klass.name), "success")
            return redirect(url_for(".class_pupils", class_id=klass.id))
    return render("admin/class_form.html", form=form, klass=None)


@bp.route("/classes/<int:class_id>/edit", methods=["GET", "POST"])
@rule(school_manager)
def class_edit(class_id):
    klass = _managed_class(class_id)
    staff = school_admin.teacher_choices(klass.school, klass)
    if request.method == "GET":
        form = ClassForm(staff=staff, data={"name": klass.name, "year_group": klass.year_group,
                                            "teachers": [t.id for t in klass.teachers]})
    else:
        form = ClassForm(staff=staff)
    if form.validate_on_submit():
        try:
            school_admin.update_class(klass, _me(), name=form.name.data,
                                      year_group=form.year_group.data, teacher_ids=form.teachers.data)
        except AdminError as error:
            _show_error(form, error)
        else:
            flash(_("Class %(name)s has been saved.", name=klass.name), "success")
            return redirect(url_for(".class_pupils", class_id=klass.id))
    return render("admin/class_form.html", form=form, klass=klass)


@bp.route("/classes/<int:class_id>")
@rule(school_manager)
def class_pupils(class_id):
    klass = _managed_class(class_id)
    return render("admin/class_pupils.html", klass=klass, pupils=school_admin.class_pupils(klass))


# ---- teams -------------------------------------------------------------------------------------

@bp.route("/teams", methods=["GET", "POST"])
@rule(school_manager)
def teams():
    school = _school()
    form = TeamForm()
    if form.validate_on_submit():
        try:
            team = school_admin.create_team(school, _me(), name=form.name.data, colour=form.colour.data)
        except AdminError as error:
            _show_error(form, error)
        else:
            flash(_("Team %(name)s has been created.", name=team.name), "success")
            return redirect(url_for(".teams"))
    return render("admin/teams.html", form=form, teams=school_admin.teams_of(school),
                  colour_labels=COLOUR_LABELS)


@bp.route("/teams/<int:team_id>", methods=["GET", "POST"])
@rule(school_manager)
def team_edit(team_id):
    team = get_or_404(Team, team_id, same_school)
    form = TeamForm(obj=team)
    if form.validate_on_submit():
        try:
            school_admin.update_team(team, _me(), name=form.name.data, colour=form.colour.data)
        except AdminError as error:
            _show_error(form, error)
        else:
            flash(_("Team %(name)s has been saved.", name=team.name), "success")
            return redirect(url_for(".teams"))
    return render("admin/team_form.html", form=form, team=team)


# ---- pupils ------------------------------------------------------------------------------------

def _managed_pupil(pupil_id):
    pupil = get_or_404(Pupil, pupil_id, can_manage_pupil)
    if pupil.status != "active":
        abort(404)
    return pupil


def _pupil_page(pupil, form=None, move_form=None):
    school = _school()
    if form is None:
        form = PupilForm(teams=school_admin.teams_of(school),
                         data={"display_name": pupil.display_name, "team_id": pupil.team_id or 0,
                               "avatar": pupil.avatar})
    if move_form is None:
        move_form = MovePupilForm(classes=school_admin.move_targets(pupil), formdata=None)
    return render("admin/pupil.html", pupil=pupil, form=form, move_form=move_form,
                  leave_form=ConfirmForm(formdata=None))


@bp.route("/pupils/<int:pupil_id>", methods=["GET", "POST"])
@rule(school_manager)
def pupil_edit(pupil_id):
    pupil = _managed_pupil(pupil_id)
    if request.method == "GET":
        return _pupil_page(pupil)
    form = PupilForm(teams=school_admin.teams_of(_school()))
    if form.validate_on_submit():
        try:
            school_admin.update_pupil(pupil, _me(), display_name=form.display_name.data,
                                      team_id=form.team_id.data, avatar=form.avatar.data)
        except AdminError as error:
            _show_error(form, error)
        else:
            flash(_("%(name)s has been saved.", name=pupil.display_name), "success")
            return redirect(url_for(".pupil_edit", pupil_id=pupil.id))
    return _pupil_page(pupil, form=form)


@bp.route("/pupils/<int:pupil_id>/move", methods=["POST"])
@rule(school_manager)
def pupil_move(pupil_id):
    pupil = _managed_pupil(pupil_id)
    form = MovePupilForm(classes=school_admin.move_targets(pupil))
    if form.validate_on_submit():
        try:
            target = school_admin.move_pupil(pupil, _me(), form.class_id.data)
        except AdminError as error:
            _show_error(form, error)
        else:
            flash(_("%(name)s has moved to %(target)s.", name=pupil.display_name, target=target.name),
                  "success")
            return redirect(url_for(".class_pupils", class_id=target.id))
    return _pupil_page(pupil, move_form=form)


@bp.route("/pupils/<int:pupil_id>/leave", methods=["POST"])
@rule(school_manager)
def pupil_leave(pupil_id):
    pupil = _managed_pupil(pupil_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        school_admin.mark_pupil_left(pupil, _me())
        flash(_("%(name)s has been marked as left.", name=pupil.display_name), "success")
        if pupil.class_id is not None:
            return redirect(url_for(".class_pupils", class_id=pupil.class_id))
        return redirect(url_for(".classes"))
    return _pupil_page(pupil)


# ---- importing pupils --------------------------------------------------------------------------

@bp.route("/import", methods=["GET", "POST"])
@rule(school_manager)
def import_pupils():
    form = ImportUploadForm()
    if form.validate_on_submit():
        data = form.file.data.read(school_admin.MAX_IMPORT_BYTES + 1)
        plan = school_admin.plan_pupil_import(_school(), data)
        confirm = ImportConfirmForm(formdata=None, data={"data": base64.b64encode(data).decode("ascii")})
        return render("admin/import_preview.html", plan=plan, form=confirm,
                      upload_form=ImportUploadForm(formdata=None))
    return render("admin/import.html", form=form)


@bp.route("/import/confirm", methods=["POST"])
@rule(school_manager)
def import_confirm():
    form = ImportConfirmForm()
    upload_form = ImportUploadForm(formdata=None)
    if not form.validate_on_submit():
        flash(_("The file is missing: upload it again."), "error")
        return render("admin/import.html", form=upload_form)
    try:
        data = base64.b64decode(form.data.data, validate=True)
    except (binascii.Error, ValueError):
        flash(_("The file could not be read again: upload it again."), "error")
        return render("admin/import.html", form=upload_form)
    try:
        plan = school_admin.import_pupils(_school(), _me(), data)
    except ImportRejected as rejected:
        return render("admin/import_preview.html", plan=rejected.plan, form=form,
                      upload_form=upload_form)
    except AdminError as error:
        flash(str(error), "error")
        return render("admin/import.html", form=upload_form)
    added, updated = plan.count("add"), plan.count("update")
    flash(ngettext("Imported %(num)d pupil.", "Imported %(num)d pupils.", len(plan.rows)) + " "
          + _("New: %(added)d. Updated: %(updated)d.", added=added, updated=updated), "success")
    return redirect(url_for(".classes"))


# ---- staff -------------------------------------------------------------------------------------

def _invite_roles():
    return [role for role in STAFF_ROLES if can_invite_role(current_user, role)]


def _staff_page(form=None, invitation=None, notice=None):
    """The staff page; for an htmx request from the staff list, only that list."""
    school = _school()
    return render("admin/staff.html", block="staff_list",
                  staff=school_admin.staff_members(school), invites=school_admin.pending_invites(school),
                  form=form or InviteForm(roles=_invite_roles(), formdata=None), invitation=invitation,
                  action_form=ConfirmForm(formdata=None), notice=notice)


def _invite_link(token):
    path = url_for("auth.accept_invite", token=token)
    base = current_app.config.get("PUBLIC_URL")
    return base.rstrip("/") + path if base else url_for("auth.accept_invite", token=token, _external=True)


@bp.route("/staff")
@rule(school_manager)
def staff():
    return _staff_page()


@bp.route("/staff/invite", methods=["POST"])
@rule(school_manager)
def staff_invite():
    form = InviteForm(roles=_invite_roles())
    if form.validate_on_submit():
        try:
            invitation = school_admin.invite_staff_member(
                _school(), _me(), name=form.name.data, email=form.email.data, role=form.role.data,
                can_manage_school=form.can_manage_school.data, link_for_token=_invite_link)
        except AdminError as error:
            _show_error(form, error)
        else:
            # The one place without a redirect: the link exists only now, and is shown once.
            return _staff_page(invitation=invitation)
    return _staff_page(form=form)


@bp.route("/staff/<int:user_id>/manager", methods=["POST"])
@rule(headteacher)
def staff_manager(user_id):
    user = get_or_404(User, user_id, same_school)
    if not user.is_staff:
        abort(404)
    form = ManagerForm()
    notice = None
    if form.validate_on_submit():
        try:
            school_admin.set_can_manage_school(user, _me(), form.allowed.data)
        except AdminError as error:
            notice = ("error", str(error))
        else:
            if form.allowed.data:
                notice = ("success", _("%(name)s can now run the school.", name=user.name))
            else:
                notice = ("success", _("%(name)s no longer runs the school.", name=user.name))
    if wants_fragment():
        return _staff_page(notice=notice)
    if notice:
        flash(notice[1], notice[0])
    return redirect(url_for(".staff"))


@bp.route("/staff/invites/<int:invite_id>/revoke", methods=["POST"])
@rule(school_manager)
def invite_revoke(invite_id):
    invite = get_or_404(StaffInvite, invite_id, same_school)
    if ConfirmForm().validate_on_submit():
        try:
            school_admin.cancel_invite(invite, _me())
        except AdminError as error:
            flash(str(error), "error")
        else:
            flash(_("The invitation to %(email)s has been cancelled.", email=invite.email), "success")
    return redirect(url_for(".staff"))


# ---- the year-end rollover --------------------------------------------------------------------

@bp.route("/rollover", methods=["GET", "POST"])
@rule(headteacher)
def rollover():
    school = _school()
    form = RolloverForm()
    if form.validate_on_submit():
        try:
            summary = school_admin.roll_over_year(school, _me(), form.from_year.data)
        except AdminError as error:
            flash(str(error), "error")
            return redirect(url_for(".rollover"))
        flash(_("The year-end rollover is done. Classes moved up: %(moved)d. Classes archived: "
                "%(archived)d. Pupils who left: %(left)d. Unused passcodes cancelled: %(revoked)d.",
                moved=summary["moved"], archived=summary["archived"], left=summary["pupils_left"],
                revoked=summary["passcodes_revoked"]), "success")
        return redirect(url_for(".classes"))
    plan = school_admin.rollover_plan(school)
    form = RolloverForm(formdata=None, data={"from_year": plan.from_year})
    return render("admin/rollover.html", plan=plan, form=form)
