"""Forms for the home reading log. The service decides what is allowed; these only parse."""
import re
import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectMultipleField, StringField, SubmitField

KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,40}")


def new_request_key():
    return secrets.token_urlsafe(16)


class LenientDateField(DateField):
    """A date that does not parse is left empty: the service then says what is missing, and what
    was typed is shown again (the raw value is kept)."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None


class LenientIntegerField(IntegerField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None


class ReadingForm(FlaskForm):
    read_on = LenientDateField(_l("Date"))
    minutes = LenientIntegerField(_l("Minutes read"))
    title = StringField(_l("What was read"), render_kw={"maxlength": "200"})
    # One submission, one entry: a double tap or a resent form returns the first entry.
    request_key = HiddenField()

    def key(self):
        """The form's key when it has the right shape (a made-up one is simply not reused)."""
        value = self.request_key.data or ""
        return value if KEY_SHAPE.fullmatch(value) else None


class ReviewForm(FlaskForm):
    """The teacher's queue: ticked entries (`entry`), the entries the page showed (`shown`), and
    which button was pressed."""
    entry = SelectMultipleField(coerce=int, validate_choice=False)
    shown = HiddenField()
    approve = SubmitField(_l("Approve selected"))
    approve_all = SubmitField(_l("Approve all"))
    decline = SubmitField(_l("Not approved"))

    def shown_ids(self):
        return [int(part) for part in (self.shown.data or "").split(",") if part.strip().isdigit()]
