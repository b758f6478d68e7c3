"""Reports on team points (per pupil, class, team and category; printable; CSV), team totals and the
assembly display. Staff only: teachers report on the classes they teach, senior leaders and the head
on any class or the whole school."""
import re

from flask import Blueprint, abort, make_response, redirect, request, url_for
from flask_babel import format_time
from flask_babel import gettext as _
from flask_login import current_user

from ...htmx import render
from ...models import SchoolClass
from ...policies import get_or_404, record_refusal, rule, same_school, staff, teaches
from ...services import reports
from .forms import PERIOD_CHOICES, ReportFilterForm

bp = Blueprint("reports", __name__, url_prefix="/reports")


def can_report_on_class(account, school_class):
    """Teachers report on the classes they teach; senior leaders and the head on any class."""
    return bool(same_school(account, school_class) and account.is_staff
                and (account.is_senior or teaches(account, school_class)))


def _filters():
    """The filter form, read from the address, and the chosen class (None: the whole school).
    A class or scope the user may not report on is a 404, as if it did not exist."""
    classes = reports.report_classes(current_user)
    whole = reports.sees_whole_school(current_user)
    form = ReportFilterForm(formdata=request.args)
    scope = form.scope.data or ("school" if whole else (str(classes[0].id) if classes else None))
    school_class = None
    if scope == "school" and not whole:
        record_refusal(request.endpoint, "school", current_user.school_id)
        abort(404)
    if scope and re.fullmatch(r"[0-9]{1,9}", scope):
        school_class = get_or_404(SchoolClass, int(scope), can_report_on_class)
        if school_class not in classes:  # a class of an earlier year, reached by its address
            classes.append(school_class)
    form.scope.choices = ([("school", _("Whole school"))] if whole else []) + [
        (str(c.id), c.name) for c in classes]
    form.scope.data = scope
    valid = scope is not None and form.validate()
    if form.scope.errors:
        form.scope.errors = [_("Choose a class from the list.")]
    return form, school_class, valid


@bp.route("/points")
@rule(staff)
def points():
    form, school_class, valid = _filters()
    report = None
    if valid:
        report = reports.points_report(current_user, form.period.data, form.date_from.data,
                                       form.date_to.data, school_class)
    return render("reports/points.html", form=form, report=report, has_classes=bool(form.scope.choices),
                  period_labels=dict(PERIOD_CHOICES), csv_args=_report_args(form) if report else {})


def _report_args(form):
    """The address arguments of the report on show, for its CSV link."""
    args = {"scope": form.scope.data, "period": form.period.data}
    if form.period.data == "custom":
        args.update(date_from=form.date_from.data.isoformat(), date_to=form.date_to.data.isoformat())
    return args


def _csv_labels():
    return {"pupil": _("Pupil"), "class": _("Class"), "team": _("Team"), "total": _("Total"),
            "needs_work_total": _("Needs work (total)")}


@bp.route("/points.csv")
@rule(staff)
def points_csv():
    form, school_class, valid = _filters()
    if not valid:  # the page shows what is wrong, next to the field, with the typing kept
        return redirect(url_for("reports.points", **request.args.to_dict()))
    filename, text = reports.export_points_csv(current_user._get_current_object(), _csv_labels(),
                                             form.period.data, form.date_from.data, form.date_to.data,
                                             school_class)
    response = make_response(text.encode("utf-8"))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    return response


@bp.route("/teams")
@rule(staff)
def teams():
    return render("reports/teams.html", totals=reports.team_totals(current_user))


@bp.route("/teams/display")
@rule(staff)
def teams_display():
    """Full screen for assemblies: team totals only, never a child's name or needs-work points."""
    return render("reports/display.html", block="totals",
                  totals=reports.team_totals(current_user, with_classes=False),
                  updated=format_time(format="short"))
