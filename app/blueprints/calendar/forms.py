"""Forms for the school calendar and staff hours. They parse; the service decides what is allowed."""
from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, RadioField, SelectMultipleField, StringField, TextAreaField, TimeField
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from ...models.calendar import ENTRY_KINDS, KIND_LABELS, MAX_AWAY_NOTE, MAX_ENTRY_NAME

WEEKDAYS = tuple(range(7))


def weekday_names():
    """Monday .. Sunday in the reader's language (from the locale data, no catalog needed)."""
    names = get_day_names("wide", locale=get_locale() or "en")
    return [names[day] for day in WEEKDAYS]


class DayField(DateField):
    """A date typed as 2026-09-01 (what a date picker sends) or 01/09/2026. What was typed is kept."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=["%Y-%m-%d", "%d/%m/%Y"], **kwargs)

    def process_formdata(self, valuelist):
        if not "".join(valuelist or ()).strip():
            self.data = None  # left empty: the service says whether it may be
            return
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            self.data = None
            raise ValueError(str(_l("Enter a date like 2026-09-01."))) from error


class HourField(TimeField):
    """A time of day typed as 08:00 (what a time picker sends). What was typed is kept."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=["%H:%M", "%H:%M:%S", "%H.%M"], **kwargs)

    def process_formdata(self, valuelist):
        if not "".join(valuelist or ()).strip():
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            self.data = None
            raise ValueError(str(_l("Enter a time like 08:00."))) from error


def _day_number(value):
    """A weekday number from the form; -1 (refused by the service in words) for anything else."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class EntryForm(FlaskForm):
    kind = RadioField(_l("Kind of date"), choices=[(kind, KIND_LABELS[kind]) for kind in ENTRY_KINDS],
                      validate_choice=False)
    name = StringField(_l("Name"), render_kw={"maxlength": str(MAX_ENTRY_NAME)})
    first_day = DayField(_l("First day"))
    last_day = DayField(_l("Last day"))


class SchoolHoursForm(FlaskForm):
    working_days = MultiCheckboxField(_l("Working days"), coerce=_day_number, validate_choice=False)
    day_starts = HourField(_l("The school day starts at"))
    day_ends = HourField(_l("The school day ends at"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.working_days.choices = list(zip(WEEKDAYS, weekday_names(), strict=True))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), render_kw={"accept": ".csv,text/csv,text/plain"})
    text = TextAreaField(_l("Or paste the rows here"))


class AwayForm(FlaskForm):
    first_day = DayField(_l("First day away"))
    last_day = DayField(_l("Last day away"))
    note = StringField(_l("Short note for parents (optional)"), validators=[
        Length(max=MAX_AWAY_NOTE, message=_l("Keep the note to %(max)d characters."))],
        render_kw={"maxlength": str(MAX_AWAY_NOTE)})


class ConfirmForm(FlaskForm):
    """Only the CSRF token."""


def staff_hours_form_class():
    """A form with, for each weekday d, ``works_d`` (ticked) and ``starts_d`` / ``ends_d``."""
    attrs = {}
    for day in WEEKDAYS:
        attrs[f"works_{day}"] = BooleanField(_l("I work on this day"))
        attrs[f"starts_{day}"] = HourField(_l("Start"))
        attrs[f"ends_{day}"] = HourField(_l("Finish"))
    return type("StaffHoursForm", (FlaskForm,), attrs)


StaffHoursForm = staff_hours_form_class()


def staff_hours_data(week_hours, cal):
    """What the hours form shows before it is sent: the staff member's days, and the school's hours
    on the days they do not work (ready for ticking)."""
    data = {}
    for day in WEEKDAYS:
        starts, ends = week_hours.get(day, (cal.day_starts, cal.day_ends))
        data[f"works_{day}"] = day in week_hours
        data[f"starts_{day}"], data[f"ends_{day}"] = starts, ends
    return data


def ticked_hours(form, days):
    """weekday -> (starts, ends) for the ticked days among ``days`` (times None when unreadable)."""
    return {day: (form[f"starts_{day}"].data, form[f"ends_{day}"].data)
            for day in days if form[f"works_{day}"].data}
