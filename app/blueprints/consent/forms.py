"""Publishing a new version of the privacy notice or the rules (the head)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class PublishDocumentForm(FlaskForm):
    title = StringField(_l("Title"), validators=[
        DataRequired(_l("Give the document a title.")),
        Length(max=200, message=_l("Keep the title under 200 characters."))])
    body = TextAreaField(_l("Text"), validators=[
        DataRequired(_l("Write the text families will read.")),
        Length(max=20000, message=_l("Keep the text under 20,000 characters."))])
