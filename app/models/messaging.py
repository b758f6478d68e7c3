"""Private conversations: a member of staff with a parent (about one child), or with a pupil.

Neither side can delete a message (a safeguarding record); only the school's retention run removes
messages older than its period, and erasing a pupil removes theirs. A sender may hide a message
within a minute of sending it; it stays in the record and both sides see that it was withdrawn.

Each conversation keeps the id of the newest message sent to each side and how far each side has
read, so that "Seen" and the unread counts cost one small query, whatever the history.
"""
from ..extensions import db
from .base import utcnow

KIND_PARENT = "parent"  # staff <-> parent, about one child
KIND_PUPIL = "pupil"    # staff <-> pupil


class Conversation(db.Model):
    __table_args__ = (
        db.Index("ix_conversation_staff", "staff_id", "last_message_at"),
        db.Index("ix_conversation_parent", "parent_id", "last_message_at"),
        db.Index("ix_conversation_pupil", "pupil_id", "kind", "last_message_at"),
    )
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False, index=True)
    kind = db.Column(db.String(10), nullable=False)
    # One conversation per pair (and child): "parent:<staff>:<parent>:<pupil>" or "pupil:<staff>:<pupil>".
    pair_key = db.Column(db.String(80), nullable=False, unique=True)
    staff_id = db.Column(db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    parent_id = db.Column(db.ForeignKey("user.id", ondelete="CASCADE"))  # KIND_PARENT only
    pupil_id = db.Column(db.ForeignKey("pupil.id", ondelete="CASCADE"), nullable=False)  # the child, or the pupil
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_message_at = db.Column(db.DateTime)
    last_message_id = db.Column(db.Integer)
    # The newest message sent *to* each side, and the newest each side has read.
    last_to_staff_id = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    last_to_other_id = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    staff_read_id = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    staff_read_at = db.Column(db.DateTime)
    other_read_id = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    other_read_at = db.Column(db.DateTime)
    hidden_count = db.Column(db.Integer, nullable=False, default=0, server_default="0")  # for the live marker

    staff = db.relationship("User", foreign_keys=[staff_id])
    parent = db.relationship("User", foreign_keys=[parent_id])
    pupil = db.relationship("Pupil", foreign_keys=[pupil_id])

    @property
    def with_pupil(self):
        return self.kind == KIND_PUPIL


class Message(db.Model):
    __table_args__ = (
        db.Index("ix_message_conversation", "conversation_id", "id"),
        db.CheckConstraint("(sender_user_id IS NULL) <> (sender_pupil_id IS NULL)", name="one_sender"),
        # A double tap or a re-sent form carries the same key: one message (SECURITY.md 31).
        db.UniqueConstraint("sender_user_id", "request_key", name="uq_message_user_key"),
        db.UniqueConstraint("sender_pupil_id", "request_key", name="uq_message_pupil_key"),
        db.UniqueConstraint("conversation_id", "broadcast_key", name="uq_message_broadcast"),
        # What waits for a teacher to check (the navigation counts it on every staff page): only
        # the few held rows are in this index, so the count never reads the whole history.
        db.Index("ix_message_held", "school_id", sqlite_where=db.text("held_at IS NOT NULL AND held_decision IS NULL"),
                 postgresql_where=db.text("held_at IS NOT NULL AND held_decision IS NULL")),
    )
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False)
    conversation_id = db.Column(db.ForeignKey("conversation.id", ondelete="CASCADE"), nullable=False)
    sender_user_id = db.Column(db.ForeignKey("user.id", ondelete="CASCADE"))
    sender_pupil_id = db.Column(db.ForeignKey("pupil.id", ondelete="CASCADE"))
    from_staff = db.Column(db.Boolean, nullable=False)
    body = db.Column(db.Text, nullable=False, default="")
    language = db.Column(db.String(10))  # the language it was written in
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    # Sent to several families at once: the same id on each copy.
    broadcast_key = db.Column(db.String(32), index=True)
    request_key = db.Column(db.String(64))  # from the sender's form; unique per sender
    # Arrived while the member of staff was in quiet hours (delivered, not notified then).
    in_quiet_hours = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    hidden_at = db.Column(db.DateTime)
    # Removed by a senior leader after a report (issue 8): kept for the record, shown to no one else.
    removed_at = db.Column(db.DateTime)
    removed_by_id = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))
    # Held for review: the text has words on the school's list (issue 8). Shown to no one but the
    # author and the reviewers until a reviewer releases it; a rejected one is kept, never shown.
    held_at = db.Column(db.DateTime)
    held_words = db.Column(db.Text)  # the words found, comma-separated, for the reviewer
    held_decision = db.Column(db.String(10))  # released, rejected
    held_decided_by_id = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))
    held_decided_at = db.Column(db.DateTime)

    sender_user = db.relationship("User", foreign_keys=[sender_user_id])
    sender_pupil = db.relationship("Pupil", foreign_keys=[sender_pupil_id])
    attachments = db.relationship("MediaFile", lazy="selectin", order_by="MediaFile.position",
                                  primaryjoin="MediaFile.message_id == Message.id",
                                  foreign_keys="MediaFile.message_id", viewonly=True)

    @property
    def hidden(self):
        return self.hidden_at is not None

    @classmethod
    def shown_to_others(cls):
        """SQL: shown to readers other than its author and the reviewers (not removed or hidden,
        and not held for review unless a reviewer released it)."""
        return db.and_(cls.removed_at.is_(None),
                       db.or_(cls.held_at.is_(None), cls.held_decision == "released"))

    @property
    def awaiting_review(self):
        return self.held_at is not None and self.held_decision is None

    @property
    def sender_name(self):
        return self.sender_user.name if self.sender_user is not None else self.sender_pupil.display_name


class PupilMessagingYear(db.Model):
    """A year group whose pupils may message their teachers (off unless the school switches it on)."""
    school_id = db.Column(db.ForeignKey("school.id", ondelete="CASCADE"), primary_key=True)
    year_group = db.Column(db.Integer, primary_key=True)


class ContentReport(db.Model):
    """Someone reported a message, post, comment or portfolio item to the senior leaders."""
    __table_args__ = (db.Index("ix_content_report_open", "school_id", "status", "created_at"),)
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False)
    target_type = db.Column(db.String(20), nullable=False)  # message, post, comment, portfolio_item
    target_id = db.Column(db.Integer, nullable=False)
    reporter_user_id = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))
    reporter_pupil_id = db.Column(db.ForeignKey("pupil.id", ondelete="SET NULL"))
    reason = db.Column(db.Text, nullable=False, default="")
    status = db.Column(db.String(12), nullable=False, default="open")  # open, dismissed, actioned
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    resolved_at = db.Column(db.DateTime)
    resolved_by_id = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))
    outcome_note = db.Column(db.Text)  # the senior leader's note


class AccountAction(db.Model):
    """A step of the misuse process on one account: warn, suspend, end, reinstate (issue 8)."""
    __table_args__ = (db.Index("ix_account_action_user", "user_id", "created_at"),)
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False)
    user_id = db.Column(db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    kind = db.Column(db.String(12), nullable=False)  # warn, suspend, end, reinstate
    reason = db.Column(db.Text, nullable=False, default="")  # shown to the user
    until = db.Column(db.DateTime)  # a suspension's end (UTC)
    report_id = db.Column(db.ForeignKey("content_report.id", ondelete="SET NULL"))
    created_by_id = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    acknowledged_at = db.Column(db.DateTime)  # a warning, read by the user at sign-in

    user = db.relationship("User", foreign_keys=[user_id])
    created_by = db.relationship("User", foreign_keys=[created_by_id])


class BlockedWord(db.Model):
    """A word or phrase the school does not allow in comments and messages, per language."""
    __table_args__ = (db.UniqueConstraint("school_id", "language", "word"),)
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id", ondelete="CASCADE"), nullable=False)
    language = db.Column(db.String(10), nullable=False)
    word = db.Column(db.String(80), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
