"""The school's structure: schools, classes, teams (houses)."""
from datetime import time

from flask_babel import lazy_gettext as _l

from ..extensions import db
from .base import utcnow

# Year groups are stored as small integers so that they sort and roll over by adding one.
YEAR_GROUPS = [
    (0, _l("Nursery")),
    (1, _l("Reception")),
    (2, _l("Year 1")),
    (3, _l("Year 2")),
    (4, _l("Year 3")),
    (5, _l("Year 4")),
    (6, _l("Year 5")),
    (7, _l("Year 6")),
]
LAST_YEAR_GROUP = 7
# Nursery to Year 2 sign in with pictures only (no typing); Year 3 and up use a longer sequence.
YOUNG_YEAR_GROUP_MAX = 3


def year_group_label(value):
    for key, label in YEAR_GROUPS:
        if key == value:
            return label
    return ""


class School(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False)
    slug = db.Column(db.String(80), nullable=False, unique=True)
    timezone = db.Column(db.String(64), nullable=False, default="Europe/London")
    office_phone = db.Column(db.String(40), nullable=False, default="")
    office_email = db.Column(db.String(254), nullable=False, default="")
    default_locale = db.Column(db.String(10), nullable=False, default="en")
    # Team points: "needs work" categories are off by default (SECURITY.md 23).
    needs_work_enabled = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    # Class Story comments: by default a parent's comment is seen by staff and that family only.
    comments_open_to_class = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    # Translating what people write (posts, comments, messages): the school may switch it off.
    content_translation_enabled = db.Column(db.Boolean, nullable=False, default=True, server_default=db.true())
    # The school calendar: working days (0 = Monday) and the hours staff are expected to look at
    # messages (the policy's 8am to 5.30pm), in the school's time zone. Outside them: quiet hours.
    day_starts = db.Column(db.Time, nullable=False, default=time(8, 0), server_default="08:00:00")
    day_ends = db.Column(db.Time, nullable=False, default=time(17, 30), server_default="17:30:00")
    working_days = db.Column(db.String(20), nullable=False, default="0,1,2,3,4", server_default="0,1,2,3,4")
    # The head can pause Hearth for every parent and pupil at once, with a message to show them.
    paused_at = db.Column(db.DateTime)
    paused_by_id = db.Column(db.Integer)  # no foreign key: School is created before its users
    pause_message = db.Column(db.Text)
    # Retention, in months; empty means the documented default (app/services/retention.py).
    retention_points_months = db.Column(db.Integer)
    retention_messages_months = db.Column(db.Integer)
    retention_portfolio_months = db.Column(db.Integer)
    retention_posts_months = db.Column(db.Integer)
    retention_after_leaving_months = db.Column(db.Integer)
    # When the day's email digest goes out, in the school's time zone (issue 9).
    digest_time = db.Column(db.Time, nullable=False, default=time(17, 0), server_default="17:00:00")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    classes = db.relationship("SchoolClass", back_populates="school", lazy="select")

    def __repr__(self):
        return f"<School {self.slug}>"


class_teachers = db.Table(
    "class_teacher",
    db.Column("class_id", db.ForeignKey("school_class.id", ondelete="CASCADE"), primary_key=True),
    db.Column("user_id", db.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
)


class SchoolClass(db.Model):
    __tablename__ = "school_class"
    __table_args__ = (db.UniqueConstraint("school_id", "academic_year", "name"),)

    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False, index=True)
    name = db.Column(db.String(40), nullable=False)
    year_group = db.Column(db.Integer, nullable=False)
    academic_year = db.Column(db.Integer, nullable=False)  # the calendar year it starts in
    class_code = db.Column(db.String(12), nullable=False, unique=True)
    archived_at = db.Column(db.DateTime)
    # Student Story: pupils may add work (optional, as the policy says); approval by a teacher.
    pupil_uploads_enabled = db.Column(db.Boolean, nullable=False, default=True, server_default=db.true())
    auto_approve_portfolio = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    school = db.relationship("School", back_populates="classes")
    teachers = db.relationship("User", secondary=class_teachers, back_populates="classes",
                               order_by="User.name")
    pupils = db.relationship("Pupil", back_populates="school_class",
                             primaryjoin="and_(Pupil.class_id == SchoolClass.id, Pupil.status == 'active')",
                             order_by="Pupil.display_name", viewonly=True)

    @property
    def year_group_label(self):
        return year_group_label(self.year_group)

    @property
    def academic_year_label(self):
        return f"{self.academic_year}–{(self.academic_year + 1) % 100:02d}"

    @property
    def young(self):
        return self.year_group <= YOUNG_YEAR_GROUP_MAX

    def __repr__(self):
        return f"<SchoolClass {self.name} {self.academic_year}>"


TEAM_COLOURS = ["red", "blue", "green", "yellow", "purple", "orange"]


class Team(db.Model):
    __table_args__ = (db.UniqueConstraint("school_id", "name"),)
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False, index=True)
    name = db.Column(db.String(60), nullable=False)
    colour = db.Column(db.String(20), nullable=False, default="blue")
