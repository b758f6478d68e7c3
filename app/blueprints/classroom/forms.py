from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional, ValidationError

from ...models.people import PICTURES
from ...services.pupil_signin import looks_like_class_code


def _class_code_shape(form, field):
    if not looks_like_class_code(field.data):
        raise ValidationError(_l("A class code has 6 letters and numbers. Check it and try again."))


class ClassCodeForm(FlaskForm):
    code = StringField(
        _l("Class code"),
        validators=[DataRequired(_l("Type your class code.")), Length(max=20), _class_code_shape],
        render_kw={"autocapitalize": "characters", "autocorrect": "off", "spellcheck": "false",
                   "maxlength": "20", "class": "code-input"})


class PicturesForm(FlaskForm):
    """One tap: a picture (the button's name is ``pick``), or ``again`` to start again."""
    pick = HiddenField(validators=[Optional(), AnyOf(list(PICTURES))])
    again = HiddenField(validators=[Optional()])


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token travels."""
