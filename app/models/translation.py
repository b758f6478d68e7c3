"""Translating what people write: machine translations kept for reuse, and each school's glossary.

A translation is stored per school, per source text (a hash of its language and its words) and per
target language, and reused for every reader: the provider is asked once per text and language.
An edited text has a new hash, so it gets new translations; the old ones are simply not asked for.
"""
from ..extensions import db
from .base import utcnow


class Translation(db.Model):
    __table_args__ = (db.UniqueConstraint("school_id", "source_hash", "target_language"),)

    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id", ondelete="CASCADE"), nullable=False)
    source_hash = db.Column(db.String(64), nullable=False)  # SHA-256 of the source language and text
    target_language = db.Column(db.String(10), nullable=False)
    text = db.Column(db.Text, nullable=False)
    provider = db.Column(db.String(20), nullable=False)  # google, microsoft, deepl, libre; demo = stored
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class GlossaryTerm(db.Model):
    """A word or phrase the school keeps out of machine translation: it is masked before the text
    goes to the provider and put back as it is (``language`` empty), or, for one target language,
    replaced by the school's own fixed translation."""
    __table_args__ = (db.UniqueConstraint("school_id", "term", "language"),)

    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id", ondelete="CASCADE"), nullable=False, index=True)
    term = db.Column(db.String(100), nullable=False)
    language = db.Column(db.String(10), nullable=False, default="", server_default="")
    translation = db.Column(db.String(200), nullable=False, default="", server_default="")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
