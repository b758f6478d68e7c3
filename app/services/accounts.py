"""Accounts: passwords, signing in, password resets, staff invitations."""
import hashlib
import os
import secrets
import threading
from contextlib import contextmanager
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from ..auth_session import revoke_all_sessions
from ..extensions import db
from ..models import StaffInvite, User
from ..models.base import utcnow
from ..models.people import STAFF_ROLES
from .audit import audit

_HASHERS = {}


def _hasher():
    """Argon2id with the library's recommended parameters (lighter ones only in the test config)."""
    params = current_app.config.get("ARGON2_PARAMETERS") or {}
    key = tuple(sorted(params.items()))
    if key not in _HASHERS:
        hasher = PasswordHasher(**params)
        # Verified against when the email is unknown, so both answers take as long (SECURITY.md 4).
        _HASHERS[key] = (hasher, hasher.hash("not-a-real-password-" + secrets.token_hex(8)))
    return _HASHERS[key][0]


_HASHING = {}  # limit -> BoundedSemaphore: Argon2 operations in flight in this process


@contextmanager
def _hashing_slot():
    """Wait for a turn to hash. Each Argon2id hash holds 64 MiB while it runs, so a gunicorn worker
    with 4 threads signing 4 people in at once would need 256 MiB more; PASSWORD_HASHES_AT_ONCE
    (1 by default) caps that. A hash takes ~50 ms of one core, so the wait is short."""
    limit = max(1, int(current_app.config.get("PASSWORD_HASHES_AT_ONCE") or 1))
    gate = _HASHING.get(limit)
    if gate is None:
        gate = _HASHING.setdefault(limit, threading.BoundedSemaphore(limit))
    with gate:
        yield


def _hash(password):
    with _hashing_slot():
        return _hasher().hash(password)


def _verify(password_hash, password):
    with _hashing_slot():
        return _hasher().verify(password_hash, password)


def _dummy_hash():
    _hasher()
    return _HASHERS[tuple(sorted((current_app.config.get("ARGON2_PARAMETERS") or {}).items()))][1]
MAX_PASSWORD = 128


class AccountError(ValueError):
    """A rule was broken; the message is for the user, in their language."""


def _common_passwords():
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "common-passwords.txt")
    with open(path, encoding="utf-8") as fh:
        return {line.strip().lower() for line in fh if line.strip() and not line.startswith("#")}


_COMMON = None


def password_problem(password, staff=False, name=None, email=None):
    """Why a new password is not acceptable, or None. Any characters; no composition rules."""
    global _COMMON
    if _COMMON is None:
        _COMMON = _common_passwords()
    minimum = 12 if staff else 8
    if len(password) < minimum:
        return _("Use at least %(num)d characters.", num=minimum)
    if len(password) > MAX_PASSWORD:
        return _("Use at most %(num)d characters.", num=MAX_PASSWORD)
    lowered = password.lower()
    if lowered in _COMMON or len(set(password)) < 3:
        return _("That password is too common and easy to guess. Try a few words you will remember.")
    if email and lowered == email.lower():
        return _("Do not use your email address as your password.")
    return None


def hash_password(password):
    return _hash(password)


def check_password(user, password):
    """True when the password matches; rehashes when the parameters have changed (SECURITY.md 1)."""
    try:
        _verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hash(password)
    return True


def normalise_email(email):
    return (email or "").strip().lower()


def find_user_by_email(email):
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def authenticate(email, password):
    """The user for these credentials, or None: the same answer for an unknown email."""
    user = find_user_by_email(email)
    if user is None:
        try:
            _verify(_dummy_hash(), password)
        except VerificationError:
            pass
        return None
    if not check_password(user, password):
        return None
    return user


def record_sign_in(user):
    user.last_sign_in_at = utcnow()
    audit("auth.sign_in", "user", user.id, actor=user, school_id=user.school_id)
    db.session.commit()


def sign_out_everywhere(user):
    """Logout ends every session of the user, in every process (SECURITY.md 9)."""
    revoke_all_sessions(user)
    db.session.commit()


def change_password(user, current, new):
    if not check_password(user, current):
        raise AccountError(_("Your current password is not right."))
    problem = password_problem(new, staff=user.is_staff, email=user.email)
    if problem:
        raise AccountError(problem)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    revoke_all_sessions(user)
    audit("auth.password_changed", "user", user.id, actor=user, school_id=user.school_id)
    db.session.commit()


# ---- password reset by emailed link ----------------------------------------------------------

def _reset_serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="hearth-password-reset")


def make_reset_token(user):
    # The token names the current password hash's tail, so it stops working once used.
    return _reset_serializer().dumps({"u": user.id, "h": user.password_hash[-16:]})


def user_for_reset_token(token):
    try:
        data = _reset_serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except (SignatureExpired, BadSignature):
        return None
    user = db.session.get(User, data.get("u"))
    if user is None or user.password_hash[-16:] != data.get("h") or not user.is_active:
        return None
    return user


def request_password_reset(email, link_for_token):
    """Email a reset link when the address is known. The caller says the same thing either way."""
    from .mail import send_mail
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return False
    link = link_for_token(make_reset_token(user))
    send_mail(
        user.email,
        _("Reset your Hearth password"),
        _("Hello %(name)s,\n\nSomeone asked to reset the password of your Hearth account at "
          "%(school)s. To choose a new password, open this link within an hour:\n\n%(link)s\n\n"
          "If it was not you, ignore this email: your password stays as it is.",
          name=user.name, school=user.school.name, link=link),
    )
    audit("auth.reset_requested", "user", user.id, actor=user, school_id=user.school_id)
    db.session.commit()
    return True


def reset_password(user, new):
    problem = password_problem(new, staff=user.is_staff, email=user.email)
    if problem:
        raise AccountError(problem)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    revoke_all_sessions(user)
    audit("auth.password_reset", "user", user.id, actor=user, school_id=user.school_id)
    db.session.commit()


# ---- changing one's email address -----------------------------------------------------------
# The new address is used only once a link sent to it is opened: a mistyped address never takes
# over the account's mail, and the address is known to work (issue 9: it also ends a bounce).

EMAIL_CHANGE_MAX_AGE = 24 * 3600


def _email_serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="hearth-email-change")


def _email_mark(email):
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()[:16]


def request_email_change(user, password, new_email, link_for_token):
    """Check the password and the new address, then email the new address a link to confirm it."""
    from .mail import send_mail
    if not check_password(user, password):
        raise AccountError(_("Your current password is not right."))
    new_email = normalise_email(new_email)
    same = new_email == normalise_email(user.email)
    if same and user.email_bounced_at is None:
        raise AccountError(_("That is already your email address."))
    if not same and find_user_by_email(new_email) is not None:
        raise AccountError(_("That email address is already used by another Hearth account."))
    token = _email_serializer().dumps({"u": user.id, "e": new_email, "o": _email_mark(user.email)})
    send_mail(
        new_email,
        _("Confirm your new email address for Hearth"),
        _("Hello %(name)s,\n\nTo use this address for your Hearth account at %(school)s, open this link "
          "within a day and press Confirm:\n\n%(link)s\n\nIf you did not ask for this, ignore this email.",
          name=user.name, school=user.school.name, link=link_for_token(token)),
    )
    audit("auth.email_change_requested", "user", user.id, actor=user, school_id=user.school_id)
    db.session.commit()


def email_change_for_token(token):
    """(user, new address) for a genuine, unexpired, unused link; None otherwise."""
    try:
        data = _email_serializer().loads(token, max_age=EMAIL_CHANGE_MAX_AGE)
    except (SignatureExpired, BadSignature):
        return None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.is_active or _email_mark(user.email) != data.get("o"):
        return None
    return user, data.get("e")


def confirm_email_change(user, new_email):
    """Use the new address; mail that bounced is tried again; the old address is told."""
    from .mail import send_mail
    holder = find_user_by_email(new_email)
    if holder is not None and holder.id != user.id:
        raise AccountError(_("That email address is already used by another Hearth account."))
    old, bounced = user.email, user.email_bounced_at is not None
    user.email = new_email
    user.email_bounced_at = None
    user.email_bounce_reason = None
    audit("auth.email_changed", "user", user.id, actor=user, school_id=user.school_id)
    db.session.commit()
    if not bounced and normalise_email(old) != new_email:
        send_mail(old, _("Your Hearth email address was changed"),
                  _("Hello %(name)s,\n\nThe email address of your Hearth account at %(school)s is now "
                    "%(email)s. If you did not do this, contact the school office.",
                    name=user.name, school=user.school.name, email=new_email))


# ---- staff invitations -------------------------------------------------------------------------

def token_digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def invite_staff(school, email, name, role, invited_by=None, can_manage_school=False):
    """Create a one-time invitation link. Returns (invite, token): the token is shown only once."""
    if role not in STAFF_ROLES:
        raise AccountError(_("Choose a staff role."))
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        raise AccountError(_("Someone already has an account with that email address."))
    token = secrets.token_urlsafe(24)
    invite = StaffInvite(
        school_id=school.id, email=email, name=name.strip(), role=role,
        can_manage_school=can_manage_school, token_hash=token_digest(token),
        created_by_id=invited_by.id if invited_by else None,
        expires_at=utcnow() + timedelta(days=current_app.config["STAFF_INVITE_DAYS"]),
    )
    db.session.add(invite)
    db.session.flush()
    audit("staff.invited", "staff_invite", invite.id, detail={"role": role},
          school_id=school.id, actor=invited_by)
    db.session.commit()
    return invite, token


def invite_for_token(token):
    if not token:
        return None
    return db.session.scalar(select(StaffInvite).where(StaffInvite.token_hash == token_digest(token)))


def accept_invite(invite, password, name=None):
    now = utcnow()
    if invite.state(now) != "pending":
        raise AccountError(_("This invitation link has already been used or has expired. "
                             "Ask the school office for a new one."))
    problem = password_problem(password, staff=True, email=invite.email)
    if problem:
        raise AccountError(problem)
    if find_user_by_email(invite.email) is not None:
        raise AccountError(_("Someone already has an account with that email address."))
    user = User(school_id=invite.school_id, email=invite.email, name=(name or invite.name).strip(),
                role=invite.role, can_manage_school=invite.can_manage_school,
                password_hash=hash_password(password))
    db.session.add(user)
    invite.accepted_at = now
    db.session.flush()
    audit("staff.joined", "user", user.id, actor=user, school_id=invite.school_id)
    db.session.commit()
    return user


def revoke_invite(invite, by):
    if invite.state(utcnow()) == "pending":
        invite.revoked_at = utcnow()
        audit("staff.invite_revoked", "staff_invite", invite.id, actor=by, school_id=invite.school_id)
        db.session.commit()
