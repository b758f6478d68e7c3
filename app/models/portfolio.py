"""A pupil's own story (portfolio): work the pupil shares, and photos or notes a teacher adds.

Only the pupil, the pupil's family and staff see an item; classmates see it only when the pupil
asked to share it and a teacher approved the sharing.
"""
from ..extensions import db
from .base import utcnow

ITEM_PENDING = "pending"
ITEM_APPROVED = "approved"
ITEM_SENT_BACK = "sent_back"


class PortfolioItem(db.Model):
    __table_args__ = (
        db.Index("ix_portfolio_item_pupil", "pupil_id", "status", "created_at"),
        db.Index("ix_portfolio_item_class", "class_id", "status", "created_at"),
    )
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False)
    pupil_id = db.Column(db.ForeignKey("pupil.id", ondelete="CASCADE"), nullable=False)
    class_id = db.Column(db.ForeignKey("school_class.id"))  # the pupil's class when added
    added_by_id = db.Column(db.ForeignKey("user.id"))  # a teacher; empty when the pupil added it
    by_pupil = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    body = db.Column(db.Text, nullable=False, default="")  # a caption, a note or a piece of writing
    language = db.Column(db.String(10))  # what the body is written in; empty: the school's default
    status = db.Column(db.String(10), nullable=False, default=ITEM_PENDING)
    share_requested = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    shared_at = db.Column(db.DateTime)  # a teacher approved sharing with the class
    review_note = db.Column(db.Text)  # the kind note when sent back
    reviewed_by_id = db.Column(db.ForeignKey("user.id"))
    reviewed_at = db.Column(db.DateTime)
    home_learning_post_id = db.Column(db.ForeignKey("post.id", ondelete="SET NULL"), index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    # Removed by a senior leader after a report (issue 8): kept for the record, shown to no one else.
    removed_at = db.Column(db.DateTime)
    removed_by_id = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))

    pupil = db.relationship("Pupil")

    @classmethod
    def shown_to_others(cls):
        """SQL: not removed by a senior leader after a report."""
        return cls.removed_at.is_(None)
    added_by = db.relationship("User", foreign_keys=[added_by_id])
    media = db.relationship("MediaFile", order_by="MediaFile.position", lazy="select",
                            primaryjoin="MediaFile.portfolio_item_id == PortfolioItem.id", viewonly=True)

    @property
    def approved(self):
        return self.status == ITEM_APPROVED

    @property
    def shared(self):
        return self.approved and self.share_requested and self.shared_at is not None
