"""The Class Story: posts to a class or to the whole school, their edits, likes, comments, views.

Likes and comments are one mechanism for class posts and portfolio items (the Student Story):
each row points at exactly one of the two.
"""
from flask_babel import lazy_gettext as _l

from ..extensions import db
from .base import utcnow

POST_KINDS = {
    "news": _l("Class news"),
    "celebration": _l("Celebration"),
    "reminder": _l("Reminder"),
    "home_learning": _l("Home learning"),
}


class Post(db.Model):
    """A post is a draft while ``published_at`` is empty, scheduled while it is in the future,
    and on the story from then on. ``class_id`` empty means the whole school."""
    __table_args__ = (
        db.Index("ix_post_feed", "school_id", "class_id", "published_at", "id"),
        db.Index("ix_post_author", "author_id", "created_at"),
        # The editor's key: a double tap on Publish makes one post (SECURITY.md 31).
        db.UniqueConstraint("author_id", "request_key", name="uq_post_author_key"),
    )
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False)
    class_id = db.Column(db.ForeignKey("school_class.id"))
    request_key = db.Column(db.String(64))  # from the new-post form
    author_id = db.Column(db.ForeignKey("user.id"), nullable=False)
    kind = db.Column(db.String(20), nullable=False, default="news")
    body = db.Column(db.Text, nullable=False, default="")
    language = db.Column(db.String(10))  # what the body is written in; empty: the school's default
    published_at = db.Column(db.DateTime)
    pinned_at = db.Column(db.DateTime)
    comments_enabled = db.Column(db.Boolean, nullable=False, default=True, server_default=db.true())
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    edited_at = db.Column(db.DateTime)  # the last edit after it was published
    # When families were told of it (issue 9): at publishing, or for a scheduled post once its time
    # has come (`flask notify send-due`). Empty: not yet.
    notified_at = db.Column(db.DateTime)
    # Removed by a senior leader after a report (issue 8): kept for the record, shown to no one else.
    removed_at = db.Column(db.DateTime)
    removed_by_id = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))

    school_class = db.relationship("SchoolClass")
    author = db.relationship("User", foreign_keys=[author_id])

    @classmethod
    def shown_to_others(cls):
        """SQL: not removed by a senior leader after a report."""
        return cls.removed_at.is_(None)

    media = db.relationship("MediaFile", order_by="MediaFile.position", lazy="select",
                            primaryjoin="MediaFile.post_id == Post.id", viewonly=True)
    revisions = db.relationship("PostRevision", order_by="PostRevision.id.desc()",
                                cascade="all, delete-orphan", passive_deletes=True)

    @property
    def kind_label(self):
        return POST_KINDS.get(self.kind, self.kind)

    @property
    def whole_school(self):
        return self.class_id is None

    def is_draft(self):
        return self.published_at is None

    def is_scheduled(self, now):
        return self.published_at is not None and self.published_at > now

    def is_live(self, now):
        return self.published_at is not None and self.published_at <= now


class PostRevision(db.Model):
    """The text as it was before an edit (the history a published post keeps)."""
    id = db.Column(db.Integer, primary_key=True)
    post_id = db.Column(db.ForeignKey("post.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = db.Column(db.String(20), nullable=False)
    body = db.Column(db.Text, nullable=False)
    edited_by_id = db.Column(db.ForeignKey("user.id"), nullable=False)
    edited_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    edited_by = db.relationship("User")


class PostSeen(db.Model):
    """A family member has seen a post: the teacher sees a count of families, never who."""
    post_id = db.Column(db.ForeignKey("post.id", ondelete="CASCADE"), primary_key=True)
    user_id = db.Column(db.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    seen_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class Like(db.Model):
    __tablename__ = "story_like"  # "like" is an SQL keyword
    __table_args__ = (
        db.UniqueConstraint("user_id", "post_id"),
        db.UniqueConstraint("user_id", "portfolio_item_id"),
        db.CheckConstraint("(post_id IS NULL) <> (portfolio_item_id IS NULL)", name="one_target"),
        db.Index("ix_story_like_post", "post_id"),
        db.Index("ix_story_like_item", "portfolio_item_id"),
    )
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    post_id = db.Column(db.ForeignKey("post.id", ondelete="CASCADE"))
    portfolio_item_id = db.Column(db.ForeignKey("portfolio_item.id", ondelete="CASCADE"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class Comment(db.Model):
    """A comment by a parent or a member of staff. A parent's comment is seen by staff and the
    commenter's own family, unless the school opens comments to the whole class."""
    __table_args__ = (
        db.CheckConstraint("(post_id IS NULL) <> (portfolio_item_id IS NULL)", name="one_target"),
        db.Index("ix_comment_post", "post_id", "created_at"),
        db.Index("ix_comment_item", "portfolio_item_id", "created_at"),
        # What waits for a teacher to check (the navigation counts it on every staff page): only
        # the few held rows are in this index, so the count never reads the whole history.
        db.Index("ix_comment_held", "school_id", sqlite_where=db.text("held_at IS NOT NULL AND held_decision IS NULL"),
                 postgresql_where=db.text("held_at IS NOT NULL AND held_decision IS NULL")),
    )
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False)
    author_id = db.Column(db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    post_id = db.Column(db.ForeignKey("post.id", ondelete="CASCADE"))
    portfolio_item_id = db.Column(db.ForeignKey("portfolio_item.id", ondelete="CASCADE"))
    body = db.Column(db.Text, nullable=False)
    language = db.Column(db.String(10))  # what the body is written in; empty: the school's default
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    hidden_at = db.Column(db.DateTime)  # hidden by a teacher, or by a senior leader after a report
    hidden_by_id = db.Column(db.ForeignKey("user.id"))
    # Held for review: the text has words on the school's list (issue 8). Shown to no one but the
    # author and the reviewers until a reviewer releases it; a rejected one is kept, never shown.
    held_at = db.Column(db.DateTime)
    held_words = db.Column(db.Text)  # the words found, comma-separated, for the reviewer
    held_decision = db.Column(db.String(10))  # released, rejected
    held_decided_by_id = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))
    held_decided_at = db.Column(db.DateTime)

    author = db.relationship("User", foreign_keys=[author_id])

    @classmethod
    def shown_to_others(cls):
        """SQL: shown to readers other than its author and the reviewers (not removed or hidden,
        and not held for review unless a reviewer released it)."""
        return db.and_(cls.hidden_at.is_(None),
                       db.or_(cls.held_at.is_(None), cls.held_decision == "released"))

    @property
    def awaiting_review(self):
        return self.held_at is not None and self.held_decision is None

