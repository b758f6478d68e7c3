from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length


class PasscodeForm(FlaskForm):
    code = StringField(_l("Passcode"), validators=[
        DataRequired(_l("Type the passcode from your letter.")), Length(max=40)])


class NewParentForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[
        DataRequired(_l("Enter your name.")), Length(max=120, message=_l("Use at most 120 characters."))])
    email = EmailField(_l("Email address"), validators=[
        DataRequired(_l("Enter your email address.")), Length(max=254),
        Email(_l("Enter an email address like name@example.com."), check_deliverability=False)])
    password = PasswordField(_l("Choose a password"), validators=[DataRequired(_l("Choose a password."))])
    confirm = PasswordField(_l("Type the password again"), validators=[
        DataRequired(_l("Type the password again.")),
        EqualTo("password", _l("The two passwords are not the same."))])
    language = SelectField(_l("Language for Hearth"), validate_choice=True)


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the code itself stays in the session."""
