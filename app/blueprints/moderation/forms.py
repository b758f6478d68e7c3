"""Forms for the word lists and the decisions on held comments and messages."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import AnyOf


class WordListForm(FlaskForm):
    # Line lengths are checked by the service, so that the message names the line.
    words = TextAreaField(_l("Words and phrases, one on each line"))


class DecisionForm(FlaskForm):
    decision = HiddenField(validators=[AnyOf(["released", "rejected"])])
