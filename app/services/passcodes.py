"""Parent passcodes: printed on a letter, each links one grown-up to exactly one pupil.

Codes come from ``secrets`` over an alphabet without look-alike characters, carry about 49 bits,
expire at the end of the class's academic year, are single-use and can be revoked. Only a SHA-256
digest of the normalised code is stored, with its last two characters as a hint for staff.
"""
import hashlib
import math
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from ..extensions import db
from ..models import ParentLink, Passcode, User
from ..models.base import utcnow
from ..models.people import ROLE_PARENT
from .accounts import AccountError, find_user_by_email, hash_password, normalise_email, password_problem
from .audit import audit
from .pupils import UNAMBIGUOUS, random_code
from .school_calendar import current_academic_year, end_of_academic_year

CODE_LENGTH = 10
GROUP = 5
HINT_LENGTH = 2
CODE_BITS = CODE_LENGTH * math.log2(len(UNAMBIGUOUS))  # about 49.5
STATES = ("valid", "unknown", "expired", "used", "revoked")
_SEPARATORS = str.maketrans("", "", " -\t\r\n\u2010\u2011\u2012\u2013\u2014\u2212\u00a0")


class PasscodeError(ValueError):
    """A passcode could not be used. ``state`` says why: one of STATES, or ``wrong_school``."""

    def __init__(self, state):
        super().__init__(state)
        self.state = state


def normalise(text):
    """Upper case, without spaces or dashes: "abcde 23456" and "ABCDE-23456" are the same code."""
    return (text or "").translate(_SEPARATORS).upper()


def format_code(text):
    """The code as printed and typed: XXXXX-XXXXX."""
    raw = normalise(text)
    return f"{raw[:GROUP]}-{raw[GROUP:]}" if len(raw) == CODE_LENGTH else raw


def digest(text):
    return hashlib.sha256(normalise(text).encode()).hexdigest()


def well_formed(text):
    raw = normalise(text)
    return len(raw) == CODE_LENGTH and all(ch in UNAMBIGUOUS for ch in raw)


def new_code():
    return format_code(random_code(CODE_LENGTH))


def expiry_for(pupil):
    school = pupil.school
    year = pupil.school_class.academic_year if pupil.school_class else None
    if year is None:
        year = current_academic_year(datetime.now(ZoneInfo(school.timezone)).date())
    return end_of_academic_year(year, school.timezone)


def issue_passcodes(pupils, by):
    """A new code for each pupil. Returns [(pupil, code)]: the codes are shown once, never stored."""
    issued = []
    seen = set()
    for pupil in pupils:
        while True:
            code = new_code()
            code_hash = digest(code)
            if code_hash in seen:
                continue
            if db.session.scalar(select(Passcode.id).where(Passcode.code_hash == code_hash)) is None:
                break
        seen.add(code_hash)
        passcode = Passcode(school_id=pupil.school_id, pupil_id=pupil.id, code_hash=code_hash,
                            hint=normalise(code)[-HINT_LENGTH:], created_by_id=by.id if by else None,
                            expires_at=expiry_for(pupil))
        db.session.add(passcode)
        db.session.flush()
        audit("passcode.issued", "passcode", passcode.id, actor=by, school_id=pupil.school_id,
              detail={"pupil_id": pupil.id})
        issued.append((pupil, code))
    db.session.commit()
    return issued


def find(code):
    if not well_formed(code):
        return None
    return db.session.scalar(select(Passcode).where(Passcode.code_hash == digest(code)))


def check(code, now=None):
    """(state, passcode): state is valid, unknown, expired, used or revoked."""
    passcode = find(code)
    if passcode is None:
        return "unknown", None
    if passcode.pupil.status != "active":  # the child has left: the letter no longer works
        return "revoked", passcode
    return passcode.state(now or utcnow()), passcode


def revoke(passcode, by):
    """Withdraw one code that has not been used yet. Returns True when it was outstanding."""
    done = _revoke(passcode, by, utcnow())
    db.session.commit()
    return done


def _revoke(passcode, by, now):
    if passcode.state(now) != "valid":
        return False
    passcode.revoked_at = now
    audit("passcode.revoked", "passcode", passcode.id, actor=by, school_id=passcode.school_id,
          detail={"pupil_id": passcode.pupil_id})
    return True


def revoke_outstanding(pupil, by):
    """Withdraw every unused, unexpired code of one pupil; returns how many."""
    now = utcnow()
    count = sum(_revoke(passcode, by, now) for passcode in outstanding_for(pupil.id, now))
    db.session.commit()
    return count


def outstanding_for(pupil_id, now=None):
    now = now or utcnow()
    return list(db.session.scalars(
        select(Passcode).where(Passcode.pupil_id == pupil_id, Passcode.used_at.is_(None),
                               Passcode.revoked_at.is_(None), Passcode.expires_at > now)
        .order_by(Passcode.created_at)))


def outstanding_hints(pupil_ids, now=None):
    """{pupil_id: [hint, ...]} of the codes still waiting to be used, in one query."""
    now = now or utcnow()
    hints = {}
    if not pupil_ids:
        return hints
    rows = db.session.execute(
        select(Passcode.pupil_id, Passcode.hint)
        .where(Passcode.pupil_id.in_(pupil_ids), Passcode.used_at.is_(None),
               Passcode.revoked_at.is_(None), Passcode.expires_at > now)
        .order_by(Passcode.pupil_id, Passcode.created_at))
    for pupil_id, hint in rows:
        hints.setdefault(pupil_id, []).append(hint)
    return hints


def parent_counts(pupil_ids):
    """{pupil_id: number of linked parents}, in one query."""
    if not pupil_ids:
        return {}
    rows = db.session.execute(
        select(ParentLink.pupil_id, func.count(ParentLink.id))
        .where(ParentLink.pupil_id.in_(pupil_ids)).group_by(ParentLink.pupil_id))
    return dict(rows.all())


def _claim(passcode, parent_user, now):
    """Mark the code used, unless someone else used or revoked it a moment ago."""
    result = db.session.execute(
        update(Passcode)
        .where(Passcode.id == passcode.id, Passcode.used_at.is_(None), Passcode.revoked_at.is_(None),
               Passcode.expires_at > now)
        .values(used_at=now, used_by_id=parent_user.id)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        raise PasscodeError("used")
    db.session.refresh(passcode)


def _link(passcode, parent_user, now):
    pupil = passcode.pupil
    already = db.session.scalar(select(ParentLink.id).where(
        ParentLink.parent_id == parent_user.id, ParentLink.pupil_id == pupil.id)) is not None
    _claim(passcode, parent_user, now)
    if not already:
        db.session.add(ParentLink(parent_id=parent_user.id, pupil_id=pupil.id, passcode_id=passcode.id,
                                  linked_at=now))
    audit("passcode.redeemed", "passcode", passcode.id, actor=parent_user, school_id=passcode.school_id,
          detail={"pupil_id": pupil.id, "already_linked": already})
    return pupil


def _usable(code, now):
    state, passcode = check(code, now)
    if state != "valid":
        raise PasscodeError(state)
    return passcode


def redeem(code, parent_user, now=None):
    """Link this parent to the code's one pupil and use the code up. Returns the pupil.

    Redeeming a code for a child already linked adds no second link, but the code is still used.
    """
    now = now or utcnow()
    passcode = _usable(code, now)
    if not parent_user.is_parent:
        raise PasscodeError("not_parent")
    if parent_user.school_id != passcode.school_id:
        raise PasscodeError("wrong_school")
    pupil = _link(passcode, parent_user, now)
    db.session.commit()
    return pupil


def join_as_new_parent(code, name, email, password, locale=None, now=None):
    """Create a parent account in the code's school and link it, in one transaction.

    Raises PasscodeError when the code cannot be used, AccountError when the email address or
    the password is not acceptable (``errors``: {field name: message}). Returns (user, pupil).
    """
    now = now or utcnow()
    passcode = _usable(code, now)
    email = normalise_email(email)
    problems = {}
    if find_user_by_email(email) is not None:
        problems["email"] = _("There is already an account with this email address. "
                              "Sign in with it instead, or use another address.")
    problem = password_problem(password, staff=False, name=name, email=email)
    if problem:
        problems["password"] = problem
    if problems:
        error = AccountError(" ".join(problems.values()))
        error.errors = problems
        raise error
    user = User(school_id=passcode.school_id, email=email, name=name.strip(), role=ROLE_PARENT,
                locale=locale or None, password_hash=hash_password(password), created_at=now,
                password_changed_at=now)
    db.session.add(user)
    db.session.flush()
    audit("parent.joined", "user", user.id, actor=user, school_id=passcode.school_id)
    pupil = _link(passcode, user, now)
    db.session.commit()
    return user, pupil

