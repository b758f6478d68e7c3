from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length


class SignInForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(_l("Enter your email address.")),
                                                        Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")),
                                                         Length(max=128)])


class ForgotForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[
        DataRequired(_l("Enter your email address.")),
        Email(_l("Enter an email address like name@example.com."), check_deliverability=False)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(_l("Choose a password."))])
    confirm = PasswordField(_l("Type the new password again"), validators=[
        DataRequired(_l("Type the password again.")),
        EqualTo("password", _l("The two passwords are not the same."))])


class AcceptInviteForm(NewPasswordForm):
    name = StringField(_l("Your name as parents will see it"), validators=[
        DataRequired(_l("Enter your name.")), Length(max=120)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(_l("Enter your current password."))])
    password = PasswordField(_l("New password"), validators=[DataRequired(_l("Choose a password."))])
    confirm = PasswordField(_l("Type the new password again"), validators=[
        DataRequired(_l("Type the password again.")),
        EqualTo("password", _l("The two passwords are not the same."))])


class ChangeEmailForm(FlaskForm):
    new_email = EmailField(_l("New email address"), validators=[
        DataRequired(_l("Enter your email address.")), Length(max=254),
        Email(_l("Enter an email address like name@example.com."), check_deliverability=False)])
    email_password = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Enter your current password."))])
