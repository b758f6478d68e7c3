"""Notifications (issue 9): what happened for one person, their choices per kind of news, and each
email that carries news to them.

A notification is a row per recipient. It is shown in the app when the recipient wants that kind
in the app; it is emailed at once (an ``EmailDelivery`` of kind "instant") or picked up by the
day's digest (an ``EmailDelivery`` of kind "digest"), as the recipient chose. No notification
holds what anyone wrote: only who did what, to which thing, so that an email carries no message
text, comment or post through the mail servers between the school and the family.

Every email is one ``EmailDelivery`` row with a unique ``key`` (one per notification and channel,
or one per person and day for a digest): a second attempt to create it finds the first, so nothing
is sent twice, and a send that fails stays in the table to be tried again, so nothing is lost.
"""
from ..extensions import db
from .base import utcnow

EMAIL_INSTANT = "instant"
EMAIL_DIGEST = "digest"
EMAIL_NEVER = "never"
EMAIL_CHOICES = (EMAIL_INSTANT, EMAIL_DIGEST, EMAIL_NEVER)

# EmailDelivery.status
PENDING = "pending"    # waiting for its time (quiet hours, a retry's backoff) or for a worker
SENDING = "sending"    # claimed by one worker
SENT = "sent"
BOUNCED = "bounced"    # the mail server refused the address for good: recorded, never retried
FAILED = "failed"      # every retry failed: recorded and shown to the school
SKIPPED = "skipped"    # nothing left to say by the time it was due (read, or the choice changed)


class Notification(db.Model):
    __table_args__ = (
        db.Index("ix_notification_user", "user_id", "created_at"),
        db.Index("ix_notification_undigested", "user_id", "delivery_id", "created_at"),
        db.Index("ix_notification_group", "user_id", "group_key"),
    )
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False)
    user_id = db.Column(db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    kind = db.Column(db.String(20), nullable=False)  # notifications.KINDS
    # Who did it (a member of staff or a parent), and the child it is about, when there is one.
    actor_id = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))
    pupil_id = db.Column(db.ForeignKey("pupil.id", ondelete="CASCADE"))
    # The thing it is about, as "conversation:12", "post:5", "portfolio_item:9", "report:3",
    # "queue:4" (a class's work waiting), "pupil:7" (a child's points): it also gives the link.
    subject = db.Column(db.String(40), nullable=False)
    # Names and numbers for the sentence, rendered in the reader's language when shown (JSON).
    params = db.Column(db.Text, nullable=False, default="{}")
    # Repeats of one kind on one thing (five likes on a post) join one unread row.
    group_key = db.Column(db.String(80))
    count = db.Column(db.Integer, nullable=False, default=1, server_default="1")
    shown = db.Column(db.Boolean, nullable=False, default=True, server_default=db.true())  # in the app
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    read_at = db.Column(db.DateTime)
    # The email that carried it (an instant one, or a digest); empty until then.
    delivery_id = db.Column(db.ForeignKey("email_delivery.id", ondelete="SET NULL"))

    actor = db.relationship("User", foreign_keys=[actor_id])
    user = db.relationship("User", foreign_keys=[user_id])
    pupil = db.relationship("Pupil")


class NotificationPreference(db.Model):
    """One person's choice for one kind of news. No row: the default for their role."""
    __table_args__ = (db.UniqueConstraint("user_id", "kind", name="uq_notification_preference"),)
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    kind = db.Column(db.String(20), nullable=False)
    in_app = db.Column(db.Boolean, nullable=False, default=True)
    email = db.Column(db.String(10), nullable=False, default=EMAIL_DIGEST)  # EMAIL_CHOICES
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class EmailDelivery(db.Model):
    __table_args__ = (
        db.Index("ix_email_delivery_due", "status", "next_attempt_at"),
        db.Index("ix_email_delivery_school", "school_id", "status", "created_at"),
    )
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False)
    user_id = db.Column(db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    # "notification:<id>:email" or "digest:<user id>:<local date>": never two rows for one email.
    key = db.Column(db.String(120), nullable=False, unique=True)
    kind = db.Column(db.String(10), nullable=False)  # instant, digest
    digest_day = db.Column(db.Date)  # the school's local day a digest is for
    to_address = db.Column(db.String(254), nullable=False)
    status = db.Column(db.String(10), nullable=False, default=PENDING)
    attempts = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    # Not before this instant (UTC): quiet hours hold a teacher's mail, a retry waits its backoff.
    next_attempt_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    held_for_quiet_hours = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    claimed_at = db.Column(db.DateTime)
    last_error = db.Column(db.Text)
    message_id = db.Column(db.String(200))  # the Message-ID header, the same on every attempt
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    sent_at = db.Column(db.DateTime)

    user = db.relationship("User")
