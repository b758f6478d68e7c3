"""Forms for messaging. Whom a message goes to is read from the URL and checked by the service."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, MultipleFileField, SelectMultipleField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget


class MessageForm(FlaskForm):
    # The length is checked by the service, so that the message says how long the text is.
    body = TextAreaField(_l("Your message"))
    files = MultipleFileField(_l("Photos or a PDF (optional)"))
    # Ticked when the sender has seen the reminder to tell the office about an absence.
    absence_ack = BooleanField()
    # Ticked by "Send it for a teacher to check" after the sender was told of words on the school's list.
    held_ack = BooleanField()


class BroadcastForm(FlaskForm):
    body = TextAreaField(_l("Your message"))
    held_ack = BooleanField()  # "Send it for a teacher to check"


class ReportForm(FlaskForm):
    reason = TextAreaField(_l("What is wrong with this message? (optional)"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PupilMessagingForm(FlaskForm):
    years = MultiCheckboxField(_l("Year groups whose pupils may message their teachers"), coerce=int,
                               choices=[])
