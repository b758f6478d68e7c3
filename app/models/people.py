"""People and their sign-ins: staff and parents (users), pupils, links, passcodes, invites."""
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin

from ..extensions import db
from .base import utcnow

ROLE_PARENT = "parent"
ROLE_TEACHER = "teacher"
ROLE_SENIOR = "senior_leader"
ROLE_HEAD = "headteacher"
STAFF_ROLES = (ROLE_TEACHER, ROLE_SENIOR, ROLE_HEAD)
ROLE_LABELS = {
    ROLE_PARENT: _l("Parent or carer"),
    ROLE_TEACHER: _l("Teacher"),
    ROLE_SENIOR: _l("Senior leader"),
    ROLE_HEAD: _l("Headteacher"),
}

# Built-in avatars: drawings, never photographs of children.
AVATARS = ["fox", "owl", "bear", "cat", "frog", "bee", "whale", "lion", "rabbit", "panda",
           "robot", "rocket"]
# Pictures for the pupils' picture passwords.
PICTURES = {
    "sun": _l("Sun"), "moon": _l("Moon"), "star": _l("Star"), "heart": _l("Heart"),
    "tree": _l("Tree"), "flower": _l("Flower"), "fish": _l("Fish"), "cat": _l("Cat"),
    "apple": _l("Apple"), "car": _l("Car"), "house": _l("House"), "ball": _l("Ball"),
}


class User(UserMixin, db.Model):
    """A staff member or a parent/carer. Pupils are a separate table with their own sign-in."""
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False, index=True)
    email = db.Column(db.String(254), nullable=False, unique=True)
    password_hash = db.Column(db.String(200), nullable=False)
    name = db.Column(db.String(120), nullable=False)
    role = db.Column(db.String(20), nullable=False)
    locale = db.Column(db.String(10))
    # Show the machine translation of posts and messages in other languages straight away.
    always_translate = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    can_manage_school = db.Column(db.Boolean, nullable=False, default=False)
    status = db.Column(db.String(12), nullable=False, default="active")  # active, suspended, ended
    status_reason = db.Column(db.Text)
    # A suspension always has an end (UTC); an account suspended with no end is ended instead.
    suspended_until = db.Column(db.DateTime)
    session_version = db.Column(db.Integer, nullable=False, default=1)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_sign_in_at = db.Column(db.DateTime)
    # Notifications shown in the app and not yet read: kept on the row so that the navigation's
    # count costs no query (app/services/notifications.py keeps it true and recounts on its page).
    unread_notifications = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    # The mail server refused this address for good (issue 9): no more email until it changes.
    email_bounced_at = db.Column(db.DateTime)
    email_bounce_reason = db.Column(db.Text)
    password_changed_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    school = db.relationship("School")
    classes = db.relationship("SchoolClass", secondary="class_teacher", back_populates="teachers",
                              order_by="SchoolClass.year_group")
    children_links = db.relationship("ParentLink", back_populates="parent",
                                     foreign_keys="ParentLink.parent_id")

    kind_of_account = "user"

    def get_id(self):
        # The version makes every older session cookie stale at once (SECURITY.md 9).
        return f"u:{self.id}:{self.session_version}"

    def blocked(self, now=None):
        """Refused at sign-in and on every request: an ended account, or a suspension whose end is
        still ahead. The one place that says when a suspension is over (issue 8)."""
        if self.status == "active":
            return False
        if self.status == "suspended" and self.suspended_until is not None:
            return self.suspended_until > (now or utcnow())
        return True

    @property
    def is_active(self):
        return not self.blocked()

    @property
    def is_staff(self):
        return self.role in STAFF_ROLES

    @property
    def is_parent(self):
        return self.role == ROLE_PARENT

    @property
    def is_pupil(self):
        return False

    @property
    def is_head(self):
        return self.role == ROLE_HEAD

    @property
    def is_senior(self):
        return self.role in (ROLE_SENIOR, ROLE_HEAD)

    @property
    def session_kind(self):
        return "staff" if self.is_staff else "parent"

    @property
    def role_label(self):
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def children(self):
        return sorted((link.pupil for link in self.children_links if link.pupil.status == "active"),
                      key=lambda p: p.display_name)

    def __repr__(self):
        return f"<User {self.id} {self.role}>"


class Pupil(UserMixin, db.Model):
    __table_args__ = (db.UniqueConstraint("school_id", "upn"),)

    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False, index=True)
    class_id = db.Column(db.ForeignKey("school_class.id"), index=True)
    team_id = db.Column(db.ForeignKey("team.id"))
    display_name = db.Column(db.String(80), nullable=False)
    upn = db.Column(db.String(20))  # the management system's unique pupil number: staff only
    avatar = db.Column(db.String(20), nullable=False, default="fox")
    home_language = db.Column(db.String(40))
    # Photo consent for the Class Story: "yes", "no", or empty (not recorded). The history is in
    # PhotoConsent; this copy lets every feed check consent without another query.
    photo_consent = db.Column(db.String(3))
    # A short sequence of picture names, e.g. "sun-cat-tree". Teachers and parents print it on the
    # home sign-in sheet, so it is kept readable; its safety comes from the class code and throttling.
    picture_password = db.Column(db.String(80), nullable=False)
    status = db.Column(db.String(10), nullable=False, default="active")  # active, left
    left_on = db.Column(db.Date)
    session_version = db.Column(db.Integer, nullable=False, default=1)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    school = db.relationship("School")
    school_class = db.relationship("SchoolClass", foreign_keys=[class_id])
    team = db.relationship("Team")
    parent_links = db.relationship("ParentLink", back_populates="pupil")

    kind_of_account = "pupil"
    role = "pupil"
    is_staff = False
    is_parent = False
    is_pupil = True
    is_head = False
    is_senior = False
    can_manage_school = False
    session_kind = "pupil"
    locale = None
    always_translate = False

    @property
    def name(self):
        return self.display_name

    def get_id(self):
        return f"p:{self.id}:{self.session_version}"

    @property
    def is_active(self):
        return self.status == "active"

    @property
    def picture_sequence(self):
        return self.picture_password.split("-") if self.picture_password else []

    @property
    def parents(self):
        return [link.parent for link in self.parent_links]

    def __repr__(self):
        return f"<Pupil {self.id}>"


class ParentLink(db.Model):
    """A parent or carer linked to one child. A child may have several, a parent several children."""
    __table_args__ = (db.UniqueConstraint("parent_id", "pupil_id"),)
    id = db.Column(db.Integer, primary_key=True)
    parent_id = db.Column(db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    pupil_id = db.Column(db.ForeignKey("pupil.id", ondelete="CASCADE"), nullable=False, index=True)
    passcode_id = db.Column(db.ForeignKey("passcode.id"))
    linked_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    parent = db.relationship("User", back_populates="children_links", foreign_keys=[parent_id])
    pupil = db.relationship("Pupil", back_populates="parent_links")


class Passcode(db.Model):
    """A single-use code, printed on a letter, that links one parent to exactly one pupil."""
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False, index=True)
    pupil_id = db.Column(db.ForeignKey("pupil.id", ondelete="CASCADE"), nullable=False, index=True)
    code_hash = db.Column(db.String(64), nullable=False, unique=True)  # SHA-256 of the normalised code
    hint = db.Column(db.String(4), nullable=False)  # last characters, so staff can tell letters apart
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    created_by_id = db.Column(db.ForeignKey("user.id"))
    expires_at = db.Column(db.DateTime, nullable=False)
    used_at = db.Column(db.DateTime)
    used_by_id = db.Column(db.ForeignKey("user.id"))
    revoked_at = db.Column(db.DateTime)

    pupil = db.relationship("Pupil")

    def state(self, now):
        if self.revoked_at:
            return "revoked"
        if self.used_at:
            return "used"
        if self.expires_at <= now:
            return "expired"
        return "valid"


class StaffInvite(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False, index=True)
    email = db.Column(db.String(254), nullable=False)
    name = db.Column(db.String(120), nullable=False)
    role = db.Column(db.String(20), nullable=False)
    can_manage_school = db.Column(db.Boolean, nullable=False, default=False)
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    created_by_id = db.Column(db.ForeignKey("user.id"))
    expires_at = db.Column(db.DateTime, nullable=False)
    accepted_at = db.Column(db.DateTime)
    revoked_at = db.Column(db.DateTime)

    def state(self, now):
        if self.revoked_at:
            return "revoked"
        if self.accepted_at:
            return "accepted"
        if self.expires_at <= now:
            return "expired"
        return "pending"


class PolicyDocument(db.Model):
    """A versioned text parents acknowledge: the privacy notice or the acceptable-use rules."""
    __table_args__ = (db.UniqueConstraint("school_id", "kind", "version"),)
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False, index=True)
    kind = db.Column(db.String(20), nullable=False)  # privacy, acceptable_use
    version = db.Column(db.Integer, nullable=False)
    title = db.Column(db.String(200), nullable=False)
    body = db.Column(db.Text, nullable=False)
    published_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class Acknowledgement(db.Model):
    __table_args__ = (db.UniqueConstraint("user_id", "document_id"),)
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    document_id = db.Column(db.ForeignKey("policy_document.id"), nullable=False)
    acknowledged_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    document = db.relationship("PolicyDocument")
