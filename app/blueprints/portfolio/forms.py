from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, MultipleFileField, SelectField, TextAreaField
from wtforms.validators import Length

from ...services.portfolio import MAX_NOTE
from ...services.stories import MAX_BODY


class TeacherItemForm(FlaskForm):
    body = TextAreaField(_l("A note for the family (optional with photos)"), validators=[
        Length(max=MAX_BODY, message=_l("Notes can be up to %(max)d characters."))])
    files = MultipleFileField(_l("Photos"))


class PupilItemForm(FlaskForm):
    """A pupil's photos with an optional caption, or a short piece of writing. The photos uploaded
    one at a time come back as ``media`` ids, read by the route and checked against the uploader."""
    body = TextAreaField(_l("Say something about it (you can skip this)"), validators=[
        Length(max=MAX_BODY, message=_l("That is too long: up to %(max)d letters."))])
    files = MultipleFileField(_l("Take a photo"))
    share = BooleanField(_l("Show my class"))
    home_learning = SelectField(_l("This is my home learning for"), choices=[], validate_choice=False)


class SendBackForm(FlaskForm):
    note = TextAreaField(_l("A kind note"), validators=[
        Length(max=MAX_NOTE, message=_l("Notes can be up to %(max)d characters."))])


class ClassOptionsForm(FlaskForm):
    pupil_uploads_enabled = BooleanField(_l("Pupils can add their work"))
    auto_approve_portfolio = BooleanField(_l("Approve pupils' work automatically"))
