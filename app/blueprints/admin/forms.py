"""Forms for running the school. Choices that depend on the school are filled in by the caller."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
    Regexp,
)
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from ...i18n import LANGUAGE_NAMES, available_languages
from ...models.people import AVATARS, ROLE_HEAD, ROLE_SENIOR, ROLE_TEACHER
from ...models.school import TEAM_COLOURS, YEAR_GROUPS

COLOUR_LABELS = {
    "red": _l("Red"), "blue": _l("Blue"), "green": _l("Green"), "yellow": _l("Yellow"),
    "purple": _l("Purple"), "orange": _l("Orange"),
}
AVATAR_LABELS = {
    "fox": _l("Fox"), "owl": _l("Owl"), "bear": _l("Bear"), "cat": _l("Cat"), "frog": _l("Frog"),
    "bee": _l("Bee"), "whale": _l("Whale"), "lion": _l("Lion"), "rabbit": _l("Rabbit"),
    "panda": _l("Panda"), "robot": _l("Robot"), "rocket": _l("Rocket"),
}
INVITE_ROLES = [
    (ROLE_TEACHER, _l("Teacher")),
    (ROLE_SENIOR, _l("Senior leader")),
    (ROLE_HEAD, _l("Headteacher")),
]


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a list of checkboxes."""
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SchoolSettingsForm(FlaskForm):
    name = StringField(_l("School name"), validators=[
        DataRequired(_l("Enter the school's name.")), Length(max=200)])
    timezone = StringField(_l("Time zone"), validators=[
        DataRequired(_l("Enter the school's time zone, like Europe/London.")), Length(max=64)])
    office_phone = StringField(_l("Office phone number"), validators=[
        Optional(), Length(max=40),
        Regexp(r"^[0-9+()\-.\s]*$", message=_l("Use only digits, spaces and + ( ) -."))])
    office_email = EmailField(_l("Office email address"), validators=[
        Optional(), Length(max=254),
        Email(_l("Enter an email address like office@example.org."), check_deliverability=False)])
    default_locale = SelectField(_l("Language for people who have not chosen one"))
    digest_time = StringField(_l("Daily email digest at"), validators=[
        Optional(),  # left empty: the time stays as it was
        Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", message=_l("Enter a time like 17:00, from 00:00 to 23:59."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_locale.choices = [(code, LANGUAGE_NAMES[code]) for code in available_languages()]
        if hasattr(self.digest_time.data, "strftime"):  # the school's stored time, shown as HH:MM
            self.digest_time.data = self.digest_time.data.strftime("%H:%M")


class ClassForm(FlaskForm):
    name = StringField(_l("Class name"), validators=[
        DataRequired(_l("Enter the class's name.")), Length(max=40)])
    year_group = SelectField(_l("Year group"), coerce=int, choices=YEAR_GROUPS,
                             validators=[InputRequired(_l("Choose a year group."))])
    teachers = MultiCheckboxField(_l("Teachers"), coerce=int)

    def __init__(self, *args, staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.teachers.choices = [(user.id, user.name) for user in staff]


class TeamForm(FlaskForm):
    name = StringField(_l("Team name"), validators=[
        DataRequired(_l("Enter the team's name.")), Length(max=60)])
    colour = RadioField(_l("Colour"), choices=[(c, COLOUR_LABELS[c]) for c in TEAM_COLOURS],
                        validators=[InputRequired(_l("Choose a colour."))])


class PupilForm(FlaskForm):
    display_name = StringField(_l("Name shown in Hearth"), validators=[
        DataRequired(_l("Enter the pupil's name.")), Length(max=80)])
    team_id = SelectField(_l("Team"), coerce=int)
    avatar = RadioField(_l("Picture"), choices=[(a, AVATAR_LABELS[a]) for a in AVATARS],
                        validators=[InputRequired(_l("Choose one of the pictures."))])

    def __init__(self, *args, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.team_id.choices = [(0, _l("No team"))] + [(team.id, team.name) for team in teams]


class MovePupilForm(FlaskForm):
    class_id = SelectField(_l("Move to class"), coerce=int,
                           validators=[InputRequired(_l("Choose a class."))])

    def __init__(self, *args, classes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.class_id.choices = [(c.id, f"{c.name} · {c.year_group_label}") for c in classes]


class ImportUploadForm(FlaskForm):
    file = FileField(_l("CSV file from your management system"), validators=[
        FileRequired(_l("Choose the CSV file to import."))])


class ImportConfirmForm(FlaskForm):
    data = HiddenField(validators=[DataRequired(_l("The file is missing: upload it again."))])


class InviteForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter their name.")), Length(max=120)])
    email = EmailField(_l("Email address"), validators=[
        DataRequired(_l("Enter their email address.")), Length(max=254),
        Email(_l("Enter an email address like name@example.org."), check_deliverability=False)])
    role = RadioField(_l("Role"), validators=[InputRequired(_l("Choose a role."))])
    can_manage_school = BooleanField(_l("Allow them to run the school (classes, pupils, staff)"))

    def __init__(self, *args, roles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [(value, label) for value, label in INVITE_ROLES if value in roles]
        if len(self.role.choices) == 1 and not self.role.data:
            self.role.data = self.role.choices[0][0]


class ManagerForm(FlaskForm):
    allowed = BooleanField()


class ConfirmForm(FlaskForm):
    """A button that does one thing: the CSRF token is all it carries."""


class RolloverForm(FlaskForm):
    from_year = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
