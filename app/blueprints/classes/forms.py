from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField


class LettersForm(FlaskForm):
    which = RadioField(_l("Print letters for"), default="unlinked", choices=[
        ("unlinked", _l("Only pupils with no parent or carer linked yet")),
        ("all", _l("Every pupil in the class")),
    ], validators=[])


class RevokeForm(FlaskForm):
    """Only the CSRF token."""
