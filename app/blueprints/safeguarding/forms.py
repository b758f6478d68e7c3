"""Forms for reports and the misuse process. They only parse: the service decides what is allowed."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, TextAreaField


class LenientDateField(DateField):
    """A date that does not parse is left empty: the service then explains what is missing."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None


class ReportForm(FlaskForm):
    reason = TextAreaField(_l("What is wrong with it? (optional)"), render_kw={"maxlength": "2000", "rows": 3})


class NoteForm(FlaskForm):
    note = TextAreaField(_l("Note for the record (optional)"), render_kw={"maxlength": "2000", "rows": 2})


class ReasonForm(FlaskForm):
    """Warn, end, reinstate: the reason is shown to the person."""
    reason = TextAreaField(_l("Reason (the person will read this)"), render_kw={"maxlength": "2000", "rows": 3})
    report_id = HiddenField()


class SuspendForm(ReasonForm):
    until = LenientDateField(_l("Suspended until"))


class PauseForm(FlaskForm):
    message = TextAreaField(_l("Message for families and pupils"), render_kw={"maxlength": "2000", "rows": 4})
