"""The keepsake: a family downloads their child's story for a school year as one zip.

Routes on the portfolio blueprint (``routes.py`` imports this module at its end). The child's
parents and the staff who can see the pupil may download it; the pupil themself may not (a family
thing, and their own page shows them everything already); anyone else gets 404.
"""
from flask import request, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField

from ...htmx import render
from ...models import Pupil
from ...policies import can_view_pupil, get_or_404, rule, signed_in
from ...services import keepsake
from .routes import bp


def can_download_keepsake(account, pupil):
    """Parents of the child and staff who can view the pupil; never the pupil, nobody else."""
    return bool(account.is_authenticated and (account.is_parent or account.is_staff)
                and can_view_pupil(account, pupil))


@bp.app_template_test("keepsake_downloadable")
def _downloadable(pupil):
    """`{% if pupil is keepsake_downloadable %}`: show the keepsake link to those who may use it."""
    return can_download_keepsake(current_user, pupil)


class KeepsakeForm(FlaskForm):
    """The school year to download (a GET form: it changes nothing, so no CSRF token)."""
    class Meta:
        csrf = False

    year = SelectField(_l("School year"), coerce=int, validate_choice=True)


def _form(pupil, formdata):
    years = keepsake.years_to_choose(pupil)
    form = KeepsakeForm(formdata=formdata)
    form.year.choices = [(year, ngettext("%(year)s (%(num)d item)", "%(year)s (%(num)d items)", count,
                                         year=keepsake.year_label(year))) for year, count in years]
    if form.year.data is None:
        form.year.data = years[0][0]  # the current school year
    return form, years


@bp.route("/pupils/<int:pupil_id>/keepsake")
@rule(signed_in)
def keepsake_page(pupil_id):
    pupil = get_or_404(Pupil, pupil_id, can_download_keepsake)
    form, years = _form(pupil, None)
    return render("keepsake/page.html", pupil=pupil, form=form, years=years)


@bp.route("/pupils/<int:pupil_id>/keepsake.zip")
@rule(signed_in)
def keepsake_zip(pupil_id):
    pupil = get_or_404(Pupil, pupil_id, can_download_keepsake)
    form, years = _form(pupil, request.args)
    if not form.validate():
        form.year.errors = [_("Choose one of the school years in the list.")]
        return render("keepsake/page.html", status=422, pupil=pupil, form=form, years=years)
    made = keepsake.build_keepsake(pupil, current_user._get_current_object(), form.year.data)
    response = send_file(made.file, mimetype="application/zip", as_attachment=True,
                         download_name=made.filename, conditional=False, etag=False, max_age=None)
    response.content_length = made.size  # a phone shows how far the download has got
    response.headers["Cache-Control"] = "private, no-store"
    return response
