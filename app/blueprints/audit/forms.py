"""The audit log's filters: a GET form (no CSRF: it changes nothing), so a view has an address."""
import re
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_day(text):
    """A day typed as day/month/year (28/11/2026) or as 2026-11-28; None when it is not a real day."""
    text = (text or "").strip()
    if match := _DAY_MONTH_YEAR.fullmatch(text):
        day, month, year = (int(part) for part in match.groups())
    elif match := _ISO.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


class DayField(StringField):
    """Text kept as typed (an error shows it back); ``day`` is the parsed date once valid."""
    day = None

    def pre_validate(self, form):
        self.day = None
        if not (self.data or "").strip():
            return
        self.day = parse_day(self.data)
        if self.day is None:
            raise ValidationError(_l("“%(typed)s” is not a date we can read. Type the day, month and year, "
                                     "for example 28/11/2026.", typed=self.data.strip()))


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    action = SelectField(_l("What happened"), choices=[], validate_choice=False)
    who = StringField(_l("Who"), validators=[Optional(), Length(max=120, message=_l("Type at most 120 characters."))])
    target_type = SelectField(_l("About"), choices=[], validate_choice=False)
    date_from = DayField(_l("From"))
    date_to = DayField(_l("To"))

    def fill_choices(self, actions, target_types):
        self.action.choices = [("", _l("Everything"))] + [(a, a) for a in actions]
        self.target_type.choices = [("", _l("Anything"))] + [(t, t) for t in target_types]

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.action.data and self.action.data not in dict(self.action.choices):
            self.action.errors = [_l("Choose one of the listed actions.")]
            ok = False
        if self.target_type.data and self.target_type.data not in dict(self.target_type.choices):
            self.target_type.errors = [_l("Choose one of the listed kinds.")]
            ok = False
        if ok and self.date_from.day and self.date_to.day and self.date_from.day > self.date_to.day:
            self.date_to.errors = [_l("The last day must be on or after the first day.")]
            ok = False
        return ok
