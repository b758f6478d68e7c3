"""Photo consent per pupil, with its history (who, when, how, which privacy notice)."""
from ..extensions import db
from .base import utcnow

CONSENT_YES = "yes"
CONSENT_NO = "no"
# Where a consent came from: a parent in Hearth, a form on paper typed in by the office, staff.
CONSENT_SOURCES = ("parent", "paper", "staff")


class PhotoConsent(db.Model):
    """One decision. The pupil's current answer is also kept on ``Pupil.photo_consent``."""
    __table_args__ = (db.Index("ix_photo_consent_pupil_time", "pupil_id", "recorded_at"),)
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False)
    pupil_id = db.Column(db.ForeignKey("pupil.id", ondelete="CASCADE"), nullable=False)
    value = db.Column(db.String(3), nullable=False)  # yes, no
    source = db.Column(db.String(10), nullable=False)
    recorded_by_id = db.Column(db.ForeignKey("user.id"))
    privacy_version = db.Column(db.Integer)  # the privacy notice's version the parent had seen
    recorded_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    recorded_by = db.relationship("User")
