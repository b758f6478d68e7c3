"""Team points: the school's categories, awards (undo is recorded, never deleted), home reading."""
from ..extensions import db
from .base import utcnow

# Built-in icons for categories (inline SVG in templates/points/_icons.html: no image requests).
CATEGORY_ICONS = ["star", "heart", "brain", "shield", "team", "book", "sparkle", "thumb", "leaf",
                  "trophy", "ear", "alert"]
DEFAULT_CATEGORIES = [
    # (name, icon, value, kind)
    ("Showing Values", "heart", 1, "positive"),
    ("Behaviour for Learning", "brain", 1, "positive"),
    ("Keeping Ourselves Safe", "shield", 1, "positive"),
    ("Teamwork", "team", 1, "positive"),
    ("Completing reading/homework at home", "book", 1, "positive"),
    ("Needs work: listening", "ear", 1, "needs_work"),
]
HOME_LEARNING_CATEGORY = "Completing reading/homework at home"


class PointCategory(db.Model):
    __table_args__ = (db.Index("ix_point_category_school_position", "school_id", "position"),)
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False)
    name = db.Column(db.String(80), nullable=False)
    icon = db.Column(db.String(20), nullable=False, default="star")
    value = db.Column(db.Integer, nullable=False, default=1)
    kind = db.Column(db.String(12), nullable=False, default="positive")  # positive, needs_work
    home_learning = db.Column(db.Boolean, nullable=False, default=False)
    position = db.Column(db.Integer, nullable=False, default=0)
    retired_at = db.Column(db.DateTime)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    @property
    def needs_work(self):
        return self.kind == "needs_work"

    @property
    def retired(self):
        return self.retired_at is not None


class PointAward(db.Model):
    """One award to one pupil. `request_key` makes a retried or double-tapped award count once."""
    __table_args__ = (
        db.UniqueConstraint("awarded_by_id", "request_key", "pupil_id"),
        # Covering indexes: totals and reports over a period read the index only, never the table,
        # so a year of history costs little more than an empty year.
        db.Index("ix_point_award_pupil_time", "pupil_id", "awarded_at", "undone_at", "needs_work", "value",
                 "category_id", "class_id", "team_id"),
        db.Index("ix_point_award_school_time", "school_id", "awarded_at", "undone_at", "needs_work", "value",
                 "category_id", "class_id", "team_id"),
    )
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False)
    pupil_id = db.Column(db.ForeignKey("pupil.id", ondelete="CASCADE"), nullable=False)
    class_id = db.Column(db.ForeignKey("school_class.id"))  # the pupil's class when awarded
    team_id = db.Column(db.ForeignKey("team.id"))  # the pupil's team when awarded
    category_id = db.Column(db.ForeignKey("point_category.id"), nullable=False, index=True)
    awarded_by_id = db.Column(db.ForeignKey("user.id"), nullable=False)
    value = db.Column(db.Integer, nullable=False)  # the category's value at the time
    needs_work = db.Column(db.Boolean, nullable=False, default=False)
    note = db.Column(db.String(140))
    request_key = db.Column(db.String(64), nullable=False)
    awarded_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    undone_at = db.Column(db.DateTime)
    undone_by_id = db.Column(db.ForeignKey("user.id"))

    pupil = db.relationship("Pupil")
    category = db.relationship("PointCategory")
    awarded_by = db.relationship("User", foreign_keys=[awarded_by_id])


class ReadingLogEntry(db.Model):
    """Reading at home, recorded by a parent; a teacher's approval turns it into a point."""
    __table_args__ = (db.Index("ix_reading_log_pupil_status", "pupil_id", "status"),)
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False)
    pupil_id = db.Column(db.ForeignKey("pupil.id", ondelete="CASCADE"), nullable=False)
    parent_id = db.Column(db.ForeignKey("user.id"), nullable=False)
    read_on = db.Column(db.Date, nullable=False)
    minutes = db.Column(db.Integer, nullable=False)
    title = db.Column(db.String(200), nullable=False)
    request_key = db.Column(db.String(64), unique=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    status = db.Column(db.String(10), nullable=False, default="pending")  # pending, approved, declined
    reviewed_by_id = db.Column(db.ForeignKey("user.id"))
    reviewed_at = db.Column(db.DateTime)
    award_id = db.Column(db.ForeignKey("point_award.id"))

    pupil = db.relationship("Pupil")
    award = db.relationship("PointAward")
