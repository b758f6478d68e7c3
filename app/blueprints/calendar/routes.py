"""The school calendar and staff hours.

- ``/calendar/``: for the headteacher and staff the head allows to run the school: the academic
  year's terms, holidays, INSET days and bank holidays (add, edit, delete, import from a CSV), and
  the school's working days and hours.
- ``/calendar/hours``: for every member of staff, their own working days and hours (within the
  school's) and their away periods (a residential trip, say).

Entries of another school, and other people's away periods, answer 404.
"""
from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import format_date, get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from ...htmx import render
from ...models import CalendarEntry, StaffAway
from ...models.calendar import KIND_LABELS
from ...policies import get_or_404, rule, same_school, school_manager, staff
from ...services import working_time
from ...services.working_time import CalendarError, ImportRejected
from .forms import (
    WEEKDAYS,
    AwayForm,
    ConfirmForm,
    EntryForm,
    ImportForm,
    SchoolHoursForm,
    StaffHoursForm,
    staff_hours_data,
    ticked_hours,
    weekday_names,
)

bp = Blueprint("calendar", __name__, url_prefix="/calendar")


@bp.app_template_filter("weekday_date")
def weekday_date(day):
    """"Monday 2 November" in the reader's language (the locale's own order and words)."""
    pattern = (get_locale().datetime_skeletons.get("MMMMEEEEd") if get_locale() else None)
    return format_date(day, pattern or "full")


def _me():
    return current_user._get_current_object()


def _school():
    return current_user.school


def _apply(form, problems):
    """Put each (field, message) next to its field; a field that already shows an error keeps it."""
    for name, message in problems:
        target = form._fields.get(name) if name else None
        if target is None:
            form.form_errors.append(message)
        elif not target.errors:
            target.errors = list(target.errors) + [message]


def own_away(account, away):
    return same_school(account, away) and away.user_id == account.id


# ---- the school's calendar ------------------------------------------------------------------------

def _year(today):
    """The academic year asked for (?year=): this one or the next, else this one."""
    this_year = working_time.counted_years(today)[0]
    asked = request.args.get("year", type=int)
    return asked if asked in working_time.counted_years(today) else this_year


def _year_of(day, today):
    year = day.year if day.month >= 9 else day.year - 1
    return year if year in working_time.counted_years(today) else None


def _index_page(year=None, entry_form=None, hours_form=None):
    school = _school()
    today = working_time.school_today(school)
    year = year or _year(today)
    entries = working_time.entries_for_year(school, year)
    this_year, next_year = working_time.counted_years(today)
    cal = working_time.calendar_for(school, today)
    if hours_form is None:
        hours_form = SchoolHoursForm(formdata=None, data={
            "working_days": sorted(cal.working_days), "day_starts": cal.day_starts, "day_ends": cal.day_ends})
    return render(
        "calendar/index.html", year=year, this_year=this_year, next_year=next_year, entries=entries,
        has_terms=cal.has_terms, year_has_terms=any(e.kind == "term" for e in entries),
        entry_form=entry_form or EntryForm(formdata=None), hours_form=hours_form,
        confirm_form=ConfirmForm(formdata=None), kind_labels=KIND_LABELS)


@bp.route("/")
@rule(school_manager)
def index():
    return _index_page()


def _entry_values(form):
    return dict(kind=form.kind.data, name=form.name.data, first_day=form.first_day.data,
                last_day=form.last_day.data)


def _entry_problems(form, today):
    values = _entry_values(form)
    return working_time.entry_problems(values["kind"], " ".join((values["name"] or "").split()),
                                       values["first_day"], values["last_day"] or values["first_day"], today)


@bp.route("/entries", methods=["POST"])
@rule(school_manager)
def entry_add():
    school = _school()
    today = working_time.school_today(school)
    form = EntryForm()
    if form.validate_on_submit():
        try:
            entry = working_time.add_entry(school, _me(), today=today, **_entry_values(form))
        except CalendarError as error:
            _apply(form, error.problems)
        else:
            flash(_("Added: %(name)s.", name=entry.name), "success")
            return redirect(url_for(".index", year=_year_of(entry.first_day, today)))
    else:
        _apply(form, _entry_problems(form, today))
    return _index_page(year=_year_of(form.first_day.data, today) if form.first_day.data else None,
                       entry_form=form)


def _entry(entry_id):
    return get_or_404(CalendarEntry, entry_id, same_school)


@bp.route("/entries/<int:entry_id>", methods=["GET", "POST"])
@rule(school_manager)
def entry_edit(entry_id):
    entry = _entry(entry_id)
    today = working_time.school_today(_school())
    if request.method == "GET":
        form = EntryForm(obj=entry)
    else:
        form = EntryForm()
        if form.validate_on_submit():
            try:
                working_time.update_entry(entry, _me(), today=today, **_entry_values(form))
            except CalendarError as error:
                _apply(form, error.problems)
            else:
                flash(_("Saved: %(name)s.", name=entry.name), "success")
                return redirect(url_for(".index", year=_year_of(entry.first_day, today)))
        else:
            _apply(form, _entry_problems(form, today))
    return render("calendar/entry.html", entry=entry, form=form, confirm_form=ConfirmForm(formdata=None))


@bp.route("/entries/<int:entry_id>/delete", methods=["POST"])
@rule(school_manager)
def entry_delete(entry_id):
    entry = _entry(entry_id)
    year = _year_of(entry.first_day, working_time.school_today(_school()))
    if ConfirmForm().validate_on_submit():
        name = entry.name
        working_time.delete_entry(entry, _me())
        flash(_("Deleted: %(name)s.", name=name), "success")
    return redirect(url_for(".index", year=year))


@bp.route("/school-hours", methods=["POST"])
@rule(school_manager)
def school_hours():
    form = SchoolHoursForm()
    if form.validate_on_submit():
        try:
            working_time.set_school_hours(_school(), _me(), form.working_days.data, form.day_starts.data,
                                          form.day_ends.data)
        except CalendarError as error:
            _apply(form, error.problems)
        else:
            flash(_("The school's working days and hours have been saved."), "success")
            return redirect(url_for(".index"))
    else:
        _apply(form, working_time.school_hours_problems(form.working_days.data, form.day_starts.data,
                                                        form.day_ends.data))
    return _index_page(hours_form=form)


@bp.route("/import", methods=["GET", "POST"])
@rule(school_manager)
def import_entries():
    school = _school()
    form = ImportForm()
    bad_rows = None
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(working_time.MAX_IMPORT_BYTES + 1) if upload else b""
        text = working_time.decode_upload(data) if data else (form.text.data or "")
        if not text.strip():
            form.file.errors = [_("Choose a CSV file, or paste the rows into the box.")]
        else:
            try:
                result = working_time.import_entries(school, _me(), text)
            except ImportRejected as rejected:
                bad_rows = rejected.rows
                form.text.data = text  # what was sent stays, to be corrected here
            else:
                message = ngettext("Imported %(num)d date.", "Imported %(num)d dates.", result.added)
                if result.already:
                    message += " " + ngettext("%(num)d was already in the calendar.",
                                              "%(num)d were already in the calendar.", result.already)
                flash(message, "success")
                return redirect(url_for(".index"))
    return render("calendar/import.html", form=form, bad_rows=bad_rows)


# ---- a staff member's own hours and away periods ------------------------------------------------------

def _hours_page(hours_form=None, away_form=None):
    me = _me()
    school = me.school
    cal = working_time.school_week(school)
    today = working_time.school_today(school)
    rows = working_time.staff_hours_rows(me)
    week = working_time.StaffWeek.from_rows(rows, cal)
    if hours_form is None:
        hours_form = StaffHoursForm(formdata=None, data=staff_hours_data(week.hours, cal))
    names = weekday_names()
    return render(
        "calendar/hours.html", cal=cal, own_hours=bool(rows), hours_form=hours_form,
        days=[(day, names[day]) for day in WEEKDAYS if day in cal.working_days],
        school_days=[names[day] for day in WEEKDAYS if day in cal.working_days],
        away_form=away_form or AwayForm(formdata=None), away=working_time.upcoming_away(me, today),
        confirm_form=ConfirmForm(formdata=None))


@bp.route("/hours", methods=["GET", "POST"])
@rule(staff)
def hours():
    if request.method == "GET":
        return _hours_page()
    me = _me()
    cal = working_time.school_week(me.school)
    form = StaffHoursForm()
    days = [day for day in WEEKDAYS if day in cal.working_days]
    if form.validate_on_submit():
        try:
            working_time.set_staff_hours(me, ticked_hours(form, days), cal)
        except CalendarError as error:
            _apply(form, error.problems)
        else:
            flash(_("Your working days and hours have been saved."), "success")
            return redirect(url_for(".hours"))
    else:
        _apply(form, working_time.staff_hours_problems(ticked_hours(form, days), cal))
    return _hours_page(hours_form=form)


@bp.route("/away", methods=["POST"])
@rule(staff)
def away_add():
    me = _me()
    today = working_time.school_today(me.school)
    form = AwayForm()
    if form.validate_on_submit():
        try:
            working_time.add_away(me, form.first_day.data, form.last_day.data, form.note.data, today)
        except CalendarError as error:
            _apply(form, error.problems)
        else:
            flash(_("Your away days have been added. Parents who write to you will see them."), "success")
            return redirect(url_for(".hours"))
    else:
        _apply(form, working_time.away_problems(form.first_day.data, form.last_day.data, form.note.data, today))
    return _hours_page(away_form=form)


@bp.route("/away/<int:away_id>/remove", methods=["POST"])
@rule(staff)
def away_remove(away_id):
    away = get_or_404(StaffAway, away_id, own_away)
    if ConfirmForm().validate_on_submit():
        working_time.remove_away(away, _me())
        flash(_("Those away days have been removed."), "success")
    return redirect(url_for(".hours"))
