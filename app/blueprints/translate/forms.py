"""Forms for translation: the reader's button and preference, the school's switch and glossary."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import Length


class ButtonForm(FlaskForm):
    """Translate, remove a glossary entry: CSRF only."""


class PreferenceForm(FlaskForm):
    always_translate = BooleanField(_l("Always translate posts and messages into my language"))


class SwitchForm(FlaskForm):
    enabled = BooleanField(_l("Translate what people write"))


class GlossaryForm(FlaskForm):
    term = StringField(_l("Word or phrase"), validators=[
        Length(max=100, message=_l("A term can be up to %(max)d characters."))])
    language = SelectField(_l("In translations"), choices=[], validate_choice=False)
    translation = StringField(_l("Fixed translation (only for one language)"), validators=[
        Length(max=200, message=_l("A translation can be up to %(max)d characters."))])
