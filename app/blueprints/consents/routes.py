"""Photo consent for the Class Story (SECURITY.md 22, 26, 27).

Staff: /consents/classes/<id> lists a class's pupils with their current answer (teachers of the
class, senior leaders and the school's managers); the school's managers also record a form
returned on paper there. /consents/pupils/<id> is a pupil's history. Parents: the child's page
(family/child.html) carries the question; its buttons post to /consents/pupils/<id>/photo.
With htmx a post answers only the part that changed; without, it redirects back.
"""
from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ...extensions import db
from ...htmx import render, wants_fragment
from ...models import Pupil, SchoolClass
from ...policies import (
    can_manage_pupil,
    can_manage_school,
    can_view_class,
    can_view_pupil,
    get_or_404,
    parent,
    rule,
    school_manager,
    staff,
)
from ...services import photo_consent
from .forms import PhotoConsentForm

bp = Blueprint("consents", __name__, url_prefix="/consents")
bp.add_app_template_global(photo_consent.consent_label, "photo_consent_label")


def _me():
    return current_user._get_current_object()


def _class_pupils(school_class):
    return list(db.session.scalars(
        select(Pupil).where(Pupil.class_id == school_class.id, Pupil.school_id == school_class.school_id,
                            Pupil.status == "active")
        .order_by(Pupil.display_name, Pupil.id)))


def _saved_message(pupil, value):
    if value == "yes":
        return _("Saved: photos of %(child)s may be shared with the class.", child=pupil.display_name)
    return _("Saved: photos of %(child)s stay off the class page.", child=pupil.display_name)


@bp.route("/classes/<int:class_id>")
@rule(staff)
def class_list(class_id):
    school_class = get_or_404(SchoolClass, class_id, can_view_class)
    return render("consents/class.html", klass=school_class, pupils=_class_pupils(school_class),
                  may_record=can_manage_school(current_user))


@bp.route("/pupils/<int:pupil_id>")
@rule(staff)
def history(pupil_id):
    pupil = get_or_404(Pupil, pupil_id, can_view_pupil)
    return render("consents/history.html", pupil=pupil, rows=photo_consent.consent_history(pupil),
                  source_label=photo_consent.source_label)


@bp.route("/pupils/<int:pupil_id>/paper", methods=["POST"])
@rule(school_manager)
def record_paper(pupil_id):
    """The office types in a consent form returned on paper; it is marked as such."""
    pupil = get_or_404(Pupil, pupil_id, can_manage_pupil)
    form = PhotoConsentForm()
    error = saved = None
    if form.validate_on_submit():
        photo_consent.record_photo_consent(pupil, form.consent.data, source="paper", by=_me())
        saved = _saved_message(pupil, form.consent.data)
    else:
        error = _("Choose yes or no.")
    if wants_fragment():
        return render("consents/class.html", block="pupil_row", pupil=pupil, may_record=True,
                      error=error, saved=saved)
    flash(saved or error, "success" if saved else "error")
    if pupil.class_id is None:
        return redirect(url_for(".history", pupil_id=pupil.id))
    return redirect(url_for(".class_list", class_id=pupil.class_id, _anchor=f"pupil-{pupil.id}"))


@bp.route("/pupils/<int:pupil_id>/photo", methods=["POST"])
@rule(parent)
def parent_choice(pupil_id):
    """A parent's yes or no, one tap either way, from the child's page."""
    pupil = get_or_404(Pupil, pupil_id, can_view_pupil)
    form = PhotoConsentForm()
    error = saved = None
    if form.validate_on_submit():
        photo_consent.record_photo_consent(pupil, form.consent.data, source="parent", by=_me())
        saved = _saved_message(pupil, form.consent.data)
    else:
        error = _("Choose yes or no.")
    if wants_fragment():
        return render("family/child.html", block="photo_consent", pupil=pupil, consent_saved=saved,
                      consent_error=error, trigger="photoConsentChanged" if saved else None)
    flash(saved or error, "success" if saved else "error")
    return redirect(url_for("family.child", pupil_id=pupil.id, _anchor="photo-consent"))
