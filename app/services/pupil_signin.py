"""Pupil sign-in on a shared class iPad: class codes, picture passwords, throttling, QR codes.

A pupil finds their class (by its code or QR code), taps their name, then taps their pictures.
Wrong sequences are counted per pupil in the rate limiter's storage (Redis in production, so every
process sees the same count); after too many the pupil is refused until the window has passed.
"""
import hmac
import logging

import segno
from flask import current_app
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from markupsafe import Markup
from sqlalchemy import select

from ..auth_session import revoke_all_sessions
from ..extensions import db, limiter
from ..models import Pupil, SchoolClass
from .audit import audit
from .pupils import (
    CLASS_CODE_LENGTH,
    UNAMBIGUOUS,
    new_picture_password,
    picture_password_length,
)

SIGNED_IN = "signed_in"
WRONG = "wrong"
LOCKED = "locked"

THROTTLE_SCOPE = "pupil-pictures"
log = logging.getLogger(__name__)


def normalise_class_code(text):
    """What a child (or grown-up) typed, as a class code: capitals, no spaces or dashes."""
    return "".join(ch for ch in (text or "").upper() if ch not in " -\t")


def looks_like_class_code(text):
    code = normalise_class_code(text)
    return len(code) == CLASS_CODE_LENGTH and all(ch in UNAMBIGUOUS for ch in code)


def class_for_code(text):
    """The open (not archived) class with this code, or None."""
    code = normalise_class_code(text)
    if not code or len(code) > 12 or not (code.isascii() and code.isalnum()):
        return None
    return db.session.scalar(select(SchoolClass).where(
        SchoolClass.class_code == code, SchoolClass.archived_at.is_(None)))


def class_pupils(school_class):
    """The class's active pupils in name order, for the grid of names."""
    return list(db.session.scalars(
        select(Pupil).where(Pupil.class_id == school_class.id, Pupil.school_id == school_class.school_id,
                            Pupil.status == "active")
        .order_by(Pupil.display_name, Pupil.id)))


def pupil_of_class(school_class, pupil_id):
    """An active pupil of exactly this class (same school), or None."""
    return db.session.scalar(select(Pupil).where(
        Pupil.id == pupil_id, Pupil.class_id == school_class.id,
        Pupil.school_id == school_class.school_id, Pupil.status == "active"))


def sequence_length(pupil):
    """How many pictures this pupil taps: the length of their password.

    Passwords are made with ``picture_password_length`` for the pupil's year group; a pupil who moved
    up a year keeps the length of the password they were given until a teacher gives a new one.
    """
    if pupil.picture_sequence:
        return len(pupil.picture_sequence)
    return picture_password_length(pupil.school_class.year_group)


# ---- throttling ------------------------------------------------------------------------------

_fallback = FixedWindowRateLimiter(MemoryStorage())  # while the shared storage (Redis) does not answer


def _throttle():
    """The limit item and the limiter, or (None, None) when rate limiting is switched off."""
    if not current_app.config.get("RATELIMIT_ENABLED") or not limiter.enabled:
        return None, None
    return parse(current_app.config["PUPIL_LIMIT_PER_PUPIL"]), limiter.limiter


def _counted(action, pupil):
    """``action`` ("test", "hit" or "clear") on the pupil's count: in the shared storage, or, when
    Redis does not answer, in this process's memory, as the sign-in limits do (README: Without Redis).
    A child's sign-in never fails because Redis stopped."""
    item, strategy = _throttle()
    if item is None:
        return True if action == "test" else None
    try:
        return getattr(strategy, action)(item, THROTTLE_SCOPE, str(pupil.id))
    except Exception as error:  # noqa: BLE001  (redis, connection and timeout errors alike)
        log.warning("pupil sign-in: the rate-limit storage did not answer (%s); counting in this process", error)
        return getattr(_fallback, action)(item, THROTTLE_SCOPE, str(pupil.id))


def is_locked(pupil):
    """True while the pupil has had too many wrong sequences in the current window."""
    return not _counted("test", pupil)


def _record_failure(pupil):
    if _throttle()[0] is None:
        return False
    _counted("hit", pupil)
    return not _counted("test", pupil)


def clear_failures(pupil):
    _counted("clear", pupil)


def check_pictures(pupil, picks):
    """Check a complete sequence of picture names: SIGNED_IN, WRONG or LOCKED.

    A locked pupil is refused without counting or comparing. The pupil whose wrong sequence
    reaches the limit is recorded in the audit log, so that the teacher can see why.
    """
    if is_locked(pupil):
        return LOCKED
    given = "-".join(picks).encode()
    if pupil.picture_password and hmac.compare_digest(given, pupil.picture_password.encode()):
        return SIGNED_IN
    if _record_failure(pupil):
        audit("pupil.sign_in_locked", target_type="pupil", target_id=pupil.id,
              school_id=pupil.school_id)
        db.session.commit()
        return LOCKED
    return WRONG


def give_new_pictures(pupil, by):
    """A new picture password for the pupil, chosen by a member of staff.

    The pupil's other sessions end, and the count of wrong attempts starts again: a teacher giving
    new pictures is the help that "ask your teacher" promises.
    """
    pupil.picture_password = new_picture_password(pupil.school_class.year_group)
    revoke_all_sessions(pupil)
    audit("pupil.picture_password_changed", target_type="pupil", target_id=pupil.id,
          school_id=pupil.school_id, actor=by)
    db.session.commit()
    clear_failures(pupil)
    return pupil


# ---- QR codes --------------------------------------------------------------------------------

def qr_svg(data, title):
    """An inline SVG QR code of ``data``: no XML declaration, no style attributes, sized by CSS."""
    svg = segno.make(data, error="m", micro=False).svg_inline(
        scale=1, omitsize=True, svgclass="qr", lineclass=None, title=str(title))
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))

