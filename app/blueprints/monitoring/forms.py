"""Forms for monitoring: finding a pupil (a GET, changes nothing) and the reason for opening a
private conversation (checked by the service, so that the message says what is missing)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField


class PupilSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Pupil's name"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Why do you need to read this conversation?"))
