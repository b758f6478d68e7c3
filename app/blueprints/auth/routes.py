"""Signing in and out for staff and parents; password reset; accepting a staff invitation."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from ...auth_session import end_session, start_session
from ...extensions import db, limiter
from ...policies import anyone, rule, signed_in
from ...services import accounts
from ..main.routes import safe_next
from .forms import AcceptInviteForm, ChangeEmailForm, ChangePasswordForm, ForgotForm, NewPasswordForm, SignInForm

bp = Blueprint("auth", __name__, url_prefix="/auth")

# Only failed attempts count, so a school full of people signing in behind one address is fine.
_failed = lambda response: response.status_code == 200  # noqa: E731  (a re-shown form = failure)


def _account_key():
    return "account:" + accounts.normalise_email(request.form.get("email"))


@bp.route("/login", methods=["GET", "POST"])
@rule(anyone)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"],
               deduct_when=_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=_account_key, deduct_when=_failed)
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("main.home"))
    form = SignInForm()
    problem = None
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            problem = _("That email address and password do not match an account. "
                        "Check them and try again, or reset your password.")
        elif not user.is_active:
            if user.status == "suspended" and user.suspended_until:
                from ...services.safeguarding import local_day
                problem = _("This account is suspended until %(date)s. Please contact the school office.",
                            date=format_date(local_day(user.school, user.suspended_until), "EEEE d MMMM"))
            elif user.status == "suspended":
                problem = _("This account is suspended. Please contact the school office.")
            else:
                problem = _("This account has been closed. Please contact the school office.")
            if user.status_reason:
                problem += " " + _("Reason given: %(reason)s", reason=user.status_reason)
        elif user.school.paused_at is not None and not user.is_staff:
            problem = _("Hearth is paused for families and pupils for now.")
            if user.school.pause_message:
                problem += " " + user.school.pause_message
        else:
            pending = session.get("join_code")
            target = safe_next(request.args.get("next"))
            start_session(user)
            accounts.record_sign_in(user)
            if pending and user.is_parent:
                session["join_code"] = pending
                return redirect(url_for("join.confirm"))
            return redirect(target)
    return render_template("auth/login.html", form=form, problem=problem)


@bp.route("/logout", methods=["POST"])
@rule(anyone)
def logout():
    if current_user.is_authenticated:
        if current_user.is_pupil:
            return redirect(url_for("classroom.sign_out"), code=307)
        accounts.sign_out_everywhere(current_user._get_current_object())
    end_session()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/forgot", methods=["GET", "POST"])
@rule(anyone)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"])
def forgot():
    form = ForgotForm()
    if form.validate_on_submit():
        accounts.request_password_reset(
            form.email.data, lambda token: _external("auth.reset", token=token))
        flash(_("If that address has an account, we have sent it a link to choose a new password. "
                "It works for one hour."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


def _external(endpoint, **values):
    base = current_app.config.get("PUBLIC_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@rule(anyone)
def reset(token):
    user = accounts.user_for_reset_token(token)
    if user is None:
        return render_template("auth/link_expired.html"), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(user, form.password.data)
        except accounts.AccountError as error:
            form.password.errors.append(str(error))
        else:
            end_session()
            flash(_("Your password has been changed. Please sign in with it."), "info")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, staff=user.is_staff)


@bp.route("/invite/<token>", methods=["GET", "POST"])
@rule(anyone)
def accept_invite(token):
    invite = accounts.invite_for_token(token)
    from ...models.base import utcnow
    if invite is None or invite.state(utcnow()) != "pending":
        return render_template("auth/link_expired.html", invite=True), 404
    form = AcceptInviteForm(name=invite.name) if request.method == "GET" else AcceptInviteForm()
    if form.validate_on_submit():
        try:
            user = accounts.accept_invite(invite, form.password.data, form.name.data)
        except accounts.AccountError as error:
            form.password.errors.append(str(error))
        else:
            start_session(user)
            flash(_("Welcome to Hearth, %(name)s.", name=user.name), "info")
            return redirect(url_for("main.home"))
    return render_template("auth/invite.html", form=form, invite=invite)


@bp.route("/account", methods=["GET", "POST"])
@rule(signed_in)
def account():
    if current_user.is_pupil:
        return redirect(url_for("classroom.me"))
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user._get_current_object(), form.current.data,
                                     form.password.data)
        except accounts.AccountError as error:
            form.password.errors.append(str(error))
        else:
            user = current_user._get_current_object()
            db.session.refresh(user)
            start_session(user)  # this device stays signed in; every other session has ended
            flash(_("Your password has been changed. You have been signed out on other devices."),
                  "info")
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form, email_form=ChangeEmailForm(formdata=None))


@bp.route("/account/email", methods=["POST"])
@rule(signed_in)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], key_func=lambda: f"email:{current_user.get_id()}")
def change_email():
    """Ask to use a new address: a link goes to it, and the change happens when it is opened."""
    if current_user.is_pupil:
        return redirect(url_for("classroom.me"))
    email_form = ChangeEmailForm()
    if email_form.validate_on_submit():
        try:
            accounts.request_email_change(current_user._get_current_object(), email_form.email_password.data,
                                          email_form.new_email.data,
                                          lambda token: _external("auth.confirm_email", token=token))
        except accounts.AccountError as error:
            email_form.new_email.errors.append(str(error))
        else:
            flash(_("We have sent a link to %(email)s. Open it within a day to start using that address.",
                    email=accounts.normalise_email(email_form.new_email.data)), "info")
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=ChangePasswordForm(formdata=None),
                           email_form=email_form), 400


@bp.route("/email/<token>", methods=["GET", "POST"])
@rule(anyone)
def confirm_email(token):
    """The link from the new address's email: a page with one button (a GET changes nothing)."""
    found = accounts.email_change_for_token(token)
    if found is None:
        return render_template("auth/link_expired.html", email_change=True), 404
    user, new_email = found
    if request.method == "POST":
        try:
            accounts.confirm_email_change(user, new_email)
        except accounts.AccountError as error:
            flash(str(error), "error")
            return render_template("auth/confirm_email.html", new_email=new_email, token=token), 409
        flash(_("Your email address is now %(email)s.", email=new_email), "info")
        return redirect(url_for("auth.account") if current_user.is_authenticated else url_for("auth.login"))
    return render_template("auth/confirm_email.html", new_email=new_email, token=token)
