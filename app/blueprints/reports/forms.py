"""The report filter: a GET form (no CSRF: it changes nothing), so a report has a shareable address."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField
from wtforms.validators import Optional

from ...services.reports import FIRST_REPORT_YEAR, LAST_REPORT_YEAR

PERIOD_CHOICES = [
    ("week", _l("This week")),
    ("half_term", _l("This half-term")),
    ("term", _l("This term")),
    ("year", _l("This school year")),
    ("custom", _l("Dates I choose")),
]


class ReportFilterForm(FlaskForm):
    class Meta:
        csrf = False

    scope = SelectField(_l("Class"), choices=[])  # filled in by the route: the classes the user may see
    period = RadioField(_l("Period"), choices=PERIOD_CHOICES, default="week")
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def validate(self, extra_validators=None):
        super().validate(extra_validators)
        if self.period.data != "custom":  # the dates are ignored (and kept as typed)
            self.date_from.errors, self.date_to.errors = [], []
            return not self.errors
        for f in (self.date_from, self.date_to):
            if f.errors:
                f.errors = [_l("Enter a date like 2026-09-01, or pick one from the calendar.")]
        ok = not self.errors
        for f, missing in ((self.date_from, _l("Enter the first day of the report.")),
                           (self.date_to, _l("Enter the last day of the report."))):
            if f.errors:
                continue
            if f.data is None:
                f.errors = [missing]
                ok = False
            elif not FIRST_REPORT_YEAR <= f.data.year <= LAST_REPORT_YEAR:
                f.errors = [_l("Enter a date between %(first)d and %(last)d.",
                               first=FIRST_REPORT_YEAR, last=LAST_REPORT_YEAR)]
                ok = False
        if ok and self.date_from.data > self.date_to.data:
            self.date_to.errors = [_l("The last day must be on or after the first day.")]
            ok = False
        return ok
