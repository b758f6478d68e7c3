"""Forms for the Class Story. The per-photo choices (who is in it, "no child", a description) are
read by the route from fields named after each photo; ids are always checked through a policy."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, MultipleFileField, RadioField, SelectField, TextAreaField
from wtforms.validators import Length, Optional

from ...models.stories import POST_KINDS
from ...services.stories import MAX_BODY, MAX_COMMENT


class PostForm(FlaskForm):
    audience = SelectField(_l("Post to"), choices=[], validate_choice=False)
    kind = RadioField(_l("Kind of post"), choices=[], default="news")
    body = TextAreaField(_l("Message"), validators=[
        Length(max=MAX_BODY, message=_l("Posts can be up to %(max)d characters."))])
    files = MultipleFileField(_l("Photos, a video or documents"))

    comments_enabled = BooleanField(_l("Families may comment"), default=True)
    publish_at = DateTimeLocalField(_l("Publish on"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                    validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = list(POST_KINDS.items())


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Your comment"), validators=[
        Length(max=MAX_COMMENT, message=_l("Comments can be up to %(max)d characters."))])
    # Ticked by "Send it for a teacher to check" after the writer was told of words on the school's list.
    held_ack = BooleanField()


class ConfirmForm(FlaskForm):
    """A button that changes state (like, pin, delete): CSRF only."""
