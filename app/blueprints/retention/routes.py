"""Retention periods, the retention run, and erasing a pupil (issue 8).

The periods page is for the school's managers (the head and the staff the head allows); erasing a
pupil is for the headteacher alone. `flask retention run` deletes what is due, for cron or a timer.
"""
import click
from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...htmx import render
from ...models import Pupil
from ...policies import can_manage_pupil, get_or_404, headteacher, rule, school_manager
from ...services import retention
from .forms import EraseForm, PeriodsForm

bp = Blueprint("retention", __name__, url_prefix="/retention")


def _periods_page(form):
    school = current_user.school
    leavers = retention.pupils_who_left(school) if current_user.is_head else []
    return render("retention/index.html", form=form, periods=retention.describe_periods(school),
                  leavers=[(pupil, retention.erasure_date(school, pupil.left_on) if pupil.left_on else None)
                           for pupil in leavers])


@bp.route("/", methods=["GET", "POST"])
@rule(school_manager)
def index():
    school = current_user.school
    form = PeriodsForm(data={period.kind: getattr(school, period.column) for period in retention.PERIODS})
    if form.validate_on_submit():
        try:
            retention.set_periods(school, current_user._get_current_object(), form.months())
        except retention.RetentionError as error:
            for kind, message in error.errors.items():
                form[kind].errors = list(form[kind].errors) + [message]
        else:
            flash(_("The retention periods have been saved."), "success")
            return redirect(url_for(".index"))
    return _periods_page(form)


@bp.route("/pupils/<int:pupil_id>/erase", methods=["GET", "POST"])
@rule(headteacher)
def erase(pupil_id):
    pupil = get_or_404(Pupil, pupil_id, can_manage_pupil)
    form = EraseForm()
    if form.validate_on_submit():
        if retention.name_matches(pupil, form.confirm_name.data):
            name = pupil.display_name
            retention.erase_pupil(pupil, current_user._get_current_object())
            flash(_("%(name)s has been erased from Hearth.", name=name), "success")
            return redirect(url_for(".index"))
        form.confirm_name.errors = list(form.confirm_name.errors) + [
            _("That is not the pupil's name. Type it exactly as it is shown above to confirm.")]
    return render("retention/erase.html", pupil=pupil, form=form, counts=retention.erasure_summary(pupil))


# ---- the command line: flask retention run ----------------------------------------------------------

@bp.cli.command("run")
@click.option("--dry-run", is_flag=True, help="Print what would be deleted and delete nothing.")
def run_command(dry_run):
    """Delete what each school's retention periods say is due, files included (for cron or a timer)."""
    results = retention.run(dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    anything = False
    for school_id, name, counts in results:
        if not counts:
            click.echo(f"{name} (school {school_id}): nothing was due.")
            continue
        anything = True
        click.echo(f"{name} (school {school_id}): {verb}")
        for kind in retention.COUNTED:
            if counts.get(kind):
                click.echo(f"  {counts[kind]:>7} {retention.COUNT_NAMES[kind]}")
    if not anything:
        click.echo("Nothing was due: nothing was deleted." if not dry_run else "Nothing is due.")
    elif dry_run:
        click.echo("Dry run: nothing was deleted.")
