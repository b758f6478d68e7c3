"""Forms for retention: the periods, and the name typed to confirm an erasure."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Regexp

from ...services.retention import PERIODS

_WHOLE_MONTHS = Regexp(r"^\s*\d{0,4}\s*$", message=_l("Enter a whole number of months, like 24, or leave it "
                                                     "empty for the default."))


class PeriodsForm(FlaskForm):
    """One text box per kind (a number of months; empty means the default). Typed text is kept."""

    def months(self):
        """{kind: int or None} from the validated fields."""
        values = {}
        for period in PERIODS:
            text = (self[period.kind].data or "").strip()
            values[period.kind] = int(text) if text else None
        return values


for _period in PERIODS:
    setattr(PeriodsForm, _period.kind, StringField(_period.label, validators=[_WHOLE_MONTHS]))
del _period


class EraseForm(FlaskForm):
    confirm_name = StringField(_l("Type the pupil's name to confirm"), validators=[
        DataRequired(_l("Type the pupil's name, as it is shown above, to confirm.")), Length(max=200)])
