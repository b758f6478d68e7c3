"""A parent joins with the passcode from their letter: new account, or an existing one for another child."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ...auth_session import start_session
from ...extensions import limiter
from ...i18n import LANGUAGE_NAMES, available_languages
from ...policies import anyone, rule
from ...services import passcodes
from ...services.accounts import AccountError
from .forms import ConfirmForm, NewParentForm, PasscodeForm

bp = Blueprint("join", __name__, url_prefix="/join")

SESSION_KEY = "join_code"


def state_message(state):
    """One plain sentence per reason a passcode does not work, with what to do next."""
    messages = {
        "unknown": _("We could not find that passcode. Check it against your letter: it has 10 letters "
                     "and numbers, like ABCDE-23456. If it still does not work, ask the school office."),
        "expired": _("This passcode has expired: passcodes work until the end of the school year. "
                     "Ask the school office for a new letter."),
        "used": _("This passcode has already been used. Each passcode links one grown-up to one child, "
                  "once. If you did not use it, or another carer needs one, ask the school office for "
                  "a new letter."),
        "revoked": _("This passcode has been cancelled by the school. Ask the school office for a new "
                     "letter."),
    }
    return messages.get(state, messages["unknown"])


def _render_start(form, state=None, passcode=None):
    if state:
        form.code.errors = list(form.code.errors or []) + [state_message(state)]
    office = passcode.pupil.school if passcode is not None else None
    return render_template("join/start.html", form=form, problem=bool(state), office=office)


def _bad_code(code, state, passcode):
    """The code in the session stopped working between two steps: say why, keep it in the box."""
    session.pop(SESSION_KEY, None)
    return _render_start(PasscodeForm(formdata=None, code=code), state, passcode)


def _after_linking(pupil):
    """Where a parent goes once linked: the child's photo question while nobody has answered it."""
    if pupil.photo_consent:
        return url_for("family.index")
    flash(_("One question about %(child)s: may photos of them be shared on the Class Story? "
            "Choose yes or no below.", child=pupil.display_name), "info")
    return url_for("family.child", pupil_id=pupil.id, _anchor="photo-consent")


def _pending():
    """(code, state, passcode) for the code remembered in the session, or None."""
    code = session.get(SESSION_KEY)
    if not code:
        return None
    state, passcode = passcodes.check(code)
    return code, state, passcode


@bp.route("", methods=["GET", "POST"])
@rule(anyone)
@limiter.limit(lambda: current_app.config["PASSCODE_LIMIT_PER_IP"], methods=["POST"])
def start():
    form = PasscodeForm()
    if request.method == "GET":
        typed = request.args.get("code", "")[:40]
        if typed:
            form.code.data = passcodes.format_code(typed) if passcodes.well_formed(typed) else typed
        return _render_start(form)
    if not form.validate_on_submit():
        return _render_start(form)
    state, passcode = passcodes.check(form.code.data)
    if state != "valid":
        return _render_start(form, state, passcode)
    session[SESSION_KEY] = passcodes.format_code(form.code.data)
    if current_user.is_authenticated:
        return redirect(url_for("join.confirm"))
    return redirect(url_for("join.new_account"))


@bp.route("/confirm", methods=["GET", "POST"])
@rule(anyone)
def confirm():
    pending = _pending()
    if pending is None:
        return redirect(url_for("join.start"))
    code, state, passcode = pending
    if state != "valid":
        return _bad_code(code, state, passcode)
    if not current_user.is_authenticated:
        return redirect(url_for("join.new_account"))
    if not current_user.is_parent or current_user.school_id != passcode.school_id:
        return render_template("join/wrong_account.html", passcode_school=passcode.pupil.school)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            pupil = passcodes.redeem(code, current_user._get_current_object())
        except passcodes.PasscodeError as error:
            return _bad_code(code, error.state, passcode)
        session.pop(SESSION_KEY, None)
        flash(_("%(child)s is now linked to your account.", child=pupil.display_name), "success")
        return redirect(_after_linking(pupil))
    return render_template("join/confirm.html", form=form, pupil=passcode.pupil)


@bp.route("/account", methods=["GET", "POST"])
@rule(anyone)
@limiter.limit(lambda: current_app.config["PASSCODE_LIMIT_PER_IP"], methods=["POST"])
def new_account():
    if current_user.is_authenticated:
        return redirect(url_for("join.confirm"))
    pending = _pending()
    if pending is None:
        return redirect(url_for("join.start"))
    code, state, passcode = pending
    if state != "valid":
        return _bad_code(code, state, passcode)
    form = NewParentForm()
    form.language.choices = [(c, LANGUAGE_NAMES[c]) for c in available_languages()]
    if request.method == "GET":
        form.language.data = str(get_locale() or "en").split("_")[0]
    if form.validate_on_submit():
        try:
            user, pupil = passcodes.join_as_new_parent(code, form.name.data, form.email.data,
                                                       form.password.data, form.language.data)
        except passcodes.PasscodeError as error:
            return _bad_code(code, error.state, passcode)
        except AccountError as error:
            for name, message in error.errors.items():
                getattr(form, name).errors.append(message)
        else:
            start_session(user)
            flash(_("Welcome to Hearth. %(child)s is now linked to your account.",
                    child=pupil.display_name), "success")
            return redirect(_after_linking(pupil))
    return render_template("join/new_account.html", form=form, pupil=passcode.pupil,
                           passcode_school=passcode.pupil.school)
