"""Photo consent for the Class Story, per pupil: the current answer and its history.

A parent answers in Hearth; the office types in a form returned on paper. Each change is a
``PhotoConsent`` row (who, when, how, which privacy notice) and an audit entry; the current answer
is copied onto ``Pupil.photo_consent`` so that feeds check it without another query. The Class
Story is told after the change is committed, so that it can hide earlier photos at once
(SECURITY.md 22).
"""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models.consent import CONSENT_NO, CONSENT_SOURCES, CONSENT_YES, PhotoConsent
from .audit import audit
from .consent import current_documents

CONSENT_VALUES = (CONSENT_YES, CONSENT_NO)

SOURCE_LABELS = {
    "parent": _l("By a parent or carer, in Hearth"),
    "paper": _l("On a paper form, recorded by the office"),
    "staff": _l("By staff"),
}


def privacy_notice_version(school_id):
    """The version of the school's privacy notice in force now, or None if it has none."""
    for document in current_documents(school_id):
        if document.kind == "privacy":
            return document.version
    return None


def record_photo_consent(pupil, value, *, source, by):
    """Record a yes or no for this pupil; the same answer again changes nothing.

    Returns the new history row, or, for an unchanged answer, the latest row already there (None
    if the answer was never recorded through here).
    """
    if value not in CONSENT_VALUES:
        raise ValueError(f"photo consent must be one of {CONSENT_VALUES}, not {value!r}")
    if source not in CONSENT_SOURCES:
        raise ValueError(f"photo consent source must be one of {CONSENT_SOURCES}, not {source!r}")
    # Read the answer again under a row lock: two parents tapping at once make one change each,
    # in turn, and a double tap makes one row (SQLite already serialises write transactions).
    db.session.refresh(pupil, attribute_names=["photo_consent"], with_for_update=True)
    old = pupil.photo_consent
    if old == value:
        row = latest_consent(pupil)
        db.session.commit()  # ends the transaction and its lock
        return row
    row = PhotoConsent(school_id=pupil.school_id, pupil_id=pupil.id, value=value, source=source,
                       recorded_by_id=by.id if by is not None else None,
                       privacy_version=privacy_notice_version(pupil.school_id))
    db.session.add(row)
    pupil.photo_consent = value
    db.session.flush()
    audit("consent.photo", "pupil", pupil.id, actor=by, school_id=pupil.school_id,
          detail={"value": value, "source": source, "previous": old})
    db.session.commit()
    _tell_the_class_story(pupil, old, value)
    return row


def _tell_the_class_story(pupil, old, new):
    """Call ``stories.on_photo_consent_changed`` when the Class Story module provides it."""
    try:
        from . import stories
    except ImportError:
        return
    hook = getattr(stories, "on_photo_consent_changed", None)
    if hook is not None:
        hook(pupil, old, new)


def latest_consent(pupil):
    return db.session.scalar(
        select(PhotoConsent)
        .where(PhotoConsent.pupil_id == pupil.id, PhotoConsent.school_id == pupil.school_id)
        .order_by(PhotoConsent.recorded_at.desc(), PhotoConsent.id.desc()).limit(1))


def consent_history(pupil):
    """Every answer recorded for this pupil, newest first, with who recorded it."""
    return list(db.session.scalars(
        select(PhotoConsent)
        .where(PhotoConsent.pupil_id == pupil.id, PhotoConsent.school_id == pupil.school_id)
        .options(selectinload(PhotoConsent.recorded_by))
        .order_by(PhotoConsent.recorded_at.desc(), PhotoConsent.id.desc())))


def consent_label(value):
    """The answer in words: "Yes", "No" or "Not recorded"."""
    if value == CONSENT_YES:
        return _("Yes")
    if value == CONSENT_NO:
        return _("No")
    return _("Not recorded")


def source_label(source):
    label = SOURCE_LABELS.get(source)
    return str(label) if label is not None else source
