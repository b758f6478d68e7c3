"""The preferences form: for each kind of news a person can get, "show in Hearth" and how to email.

The kinds depend on the person (a parent hears of points, a senior leader of reports), so the form
class is made for the kinds given; field names are "<kind>-in_app" and "<kind>-email".
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField
from wtforms.validators import AnyOf, InputRequired

from ...models.notifications import EMAIL_CHOICES
from ...services.notifications import EMAIL_LABELS

FIELD_SUFFIXES = ("-in_app", "-email")


def preferences_form(kinds, choices):
    """A form for these kinds, filled with the person's current choices (kind -> Choice); a sent
    form's values take their place."""

    class PreferencesForm(FlaskForm):
        pass

    for kind in kinds:
        setattr(PreferencesForm, f"{kind}-in_app", BooleanField(_l("Show in Hearth")))
        setattr(PreferencesForm, f"{kind}-email", RadioField(
            _l("By email"), choices=[(value, EMAIL_LABELS[value]) for value in EMAIL_CHOICES],
            validate_choice=False,
            validators=[InputRequired(_l("Choose how to hear about this by email.")),
                        AnyOf(EMAIL_CHOICES, message=_l("Choose one of the email options."))]))
    data = {}
    for kind in kinds:
        data[f"{kind}-in_app"] = choices[kind].in_app
        data[f"{kind}-email"] = choices[kind].email
    return PreferencesForm(data=data)


def unknown_kinds(formdata, kinds):
    """Names in the sent form for kinds this person cannot get (a forged or stale form)."""
    unknown = set()
    for name in formdata.keys():
        for suffix in FIELD_SUFFIXES:
            if name.endswith(suffix) and name[:-len(suffix)] not in kinds:
                unknown.add(name[:-len(suffix)])
    return sorted(unknown)
