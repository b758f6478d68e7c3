"""Forms for team points. Ids from these forms are looked up through a policy by the routes."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from ...models.points import CATEGORY_ICONS
from ...services.points import MAX_CATEGORY_VALUE, MAX_NOTE

ICON_LABELS = {
    "star": _l("Star"), "heart": _l("Heart"), "brain": _l("Brain"), "shield": _l("Shield"),
    "team": _l("Team"), "book": _l("Book"), "sparkle": _l("Sparkle"), "thumb": _l("Thumbs up"),
    "leaf": _l("Leaf"), "trophy": _l("Trophy"), "ear": _l("Ear"), "alert": _l("Warning sign"),
}
KIND_LABELS = {
    "positive": _l("A reward: adds to the pupil's points"),
    "needs_work": _l("Needs work: seen only by the pupil's teachers and parents"),
}


class AwardForm(FlaskForm):
    """The class screen: ticked pupils, the tapped category, an optional note, the request's key."""
    request_key = HiddenField()
    pupil = SelectMultipleField(coerce=int, validate_choice=False)
    category_id = IntegerField(validators=[InputRequired(_l("Tap a category to award it."))])
    note = StringField(_l("Note (optional)"), validators=[
        Length(max=MAX_NOTE, message=_l("Keep the note to %(max)d characters."))])


class UndoForm(FlaskForm):
    request_key = HiddenField(validators=[DataRequired(_l("There is nothing to undo."))])


class CategoryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[
        DataRequired(_l("Enter the category's name.")),
        Length(max=80, message=_l("Use at most %(max)d characters."))])
    icon = RadioField(_l("Icon"), choices=[(name, ICON_LABELS[name]) for name in CATEGORY_ICONS],
                      validators=[InputRequired(_l("Choose an icon."))])
    value = IntegerField(_l("Points"), default=1, validators=[
        InputRequired(_l("Enter how many points it gives, from 1 to %(num)d.", num=MAX_CATEGORY_VALUE)),
        NumberRange(1, MAX_CATEGORY_VALUE,
                    message=_l("Enter how many points it gives, from 1 to %(num)d.", num=MAX_CATEGORY_VALUE))])
    kind = RadioField(_l("Kind"), default="positive", choices=list(KIND_LABELS.items()),
                      validators=[InputRequired(_l("Choose the kind of category."))])


class MoveForm(FlaskForm):
    direction = RadioField(choices=[("up", "up"), ("down", "down")], validators=[InputRequired()])


class ConfirmForm(FlaskForm):
    """Only the CSRF token."""


class NeedsWorkForm(FlaskForm):
    enabled = BooleanField(_l("Use needs-work categories"))
