"""The school calendar and staff time: term dates and closures, staff working hours, away periods.

Terms say which dates are in term. Holidays (half-terms included), INSET days and bank holidays
close the school on their dates. The rules that use these rows live in services/working_time.py.
"""
from flask_babel import lazy_gettext as _l

from ..extensions import db
from .base import utcnow

KIND_TERM = "term"
KIND_HOLIDAY = "holiday"
KIND_INSET = "inset"
KIND_BANK_HOLIDAY = "bank_holiday"
ENTRY_KINDS = (KIND_TERM, KIND_HOLIDAY, KIND_INSET, KIND_BANK_HOLIDAY)
CLOSURE_KINDS = (KIND_HOLIDAY, KIND_INSET, KIND_BANK_HOLIDAY)
KIND_LABELS = {
    KIND_TERM: _l("Term"),
    KIND_HOLIDAY: _l("Holiday or half-term"),
    KIND_INSET: _l("INSET day"),
    KIND_BANK_HOLIDAY: _l("Bank holiday"),
}
MAX_ENTRY_NAME = 120
MAX_AWAY_NOTE = 300


class CalendarEntry(db.Model):
    __tablename__ = "calendar_entry"
    __table_args__ = (db.Index("ix_calendar_entry_school_days", "school_id", "first_day", "last_day"),)

    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False)
    kind = db.Column(db.String(20), nullable=False)
    name = db.Column(db.String(MAX_ENTRY_NAME), nullable=False)
    first_day = db.Column(db.Date, nullable=False)
    last_day = db.Column(db.Date, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    created_by_id = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))

    school = db.relationship("School")

    @property
    def kind_label(self):
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def closes_school(self):
        return self.kind in CLOSURE_KINDS

    def __repr__(self):
        return f"<CalendarEntry {self.kind} {self.first_day}..{self.last_day}>"


class StaffHours(db.Model):
    """One working day of a staff member. No rows: the school's hours on all its working days."""
    __tablename__ = "staff_hours"

    user_id = db.Column(db.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    weekday = db.Column(db.Integer, primary_key=True, autoincrement=False)  # 0 = Monday .. 6 = Sunday
    starts = db.Column(db.Time, nullable=False)
    ends = db.Column(db.Time, nullable=False)


class StaffAway(db.Model):
    """A staff member away (a residential trip, say): they will not usually reply to parents."""
    __tablename__ = "staff_away"
    __table_args__ = (db.Index("ix_staff_away_user_days", "user_id", "last_day"),)

    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False, index=True)
    user_id = db.Column(db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    first_day = db.Column(db.Date, nullable=False)
    last_day = db.Column(db.Date, nullable=False)
    note = db.Column(db.String(MAX_AWAY_NOTE), nullable=False, default="")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    def __repr__(self):
        return f"<StaffAway {self.user_id} {self.first_day}..{self.last_day}>"
