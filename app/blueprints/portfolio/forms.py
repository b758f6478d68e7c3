from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, TextAreaField
from wtforms.validators import Length

from ...services.stories import MAX_BODY


class TeacherItemForm(FlaskForm):
    body = TextAreaField(_l("A note for the family (optional with photos)"), validators=[
        Length(max=MAX_BODY, message=_l("Notes can be up to %(max)d characters."))])
    files = MultipleFileField(_l("Photos"))
