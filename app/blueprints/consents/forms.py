"""The photo consent answer: the tapped button's value, yes or no. Pupil ids come from the URL and
are looked up through a policy by the routes."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import InputRequired


class PhotoConsentForm(FlaskForm):
    consent = RadioField(_l("Photos on the Class Story"), choices=[("yes", _l("Yes")), ("no", _l("No"))],
                         validators=[InputRequired(_l("Choose yes or no."))])
