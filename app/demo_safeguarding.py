"""The demo school's safeguarding queue (part of `flask demo`): one open report on a parent's comment,
so that a senior leader signing in to the demo finds something to look at in /safeguarding/."""
from sqlalchemy import select

from .extensions import db
from .models import Comment, ContentReport, Post, User
from .models.people import ROLE_PARENT, ROLE_TEACHER


def seed_safeguarding(school):
    """Add one open report on a demo comment (idempotent: does nothing when the school already has
    a report). Returns the report, or None when the demo has no comment to report."""
    if db.session.scalar(select(ContentReport.id).where(ContentReport.school_id == school.id).limit(1)):
        return None
    comment = db.session.scalar(
        select(Comment).join(Post, Post.id == Comment.post_id)
        .join(User, User.id == Comment.author_id)
        .where(Comment.school_id == school.id, User.role == ROLE_PARENT, Comment.hidden_at.is_(None))
        .order_by(Comment.created_at.desc()).limit(1))
    if comment is None:
        return None
    comment.body = "Honestly this class is a joke, the teacher clearly can't cope."
    teacher = db.session.scalar(select(User).join(Post, Post.author_id == User.id)
                                .where(Post.id == comment.post_id, User.role == ROLE_TEACHER))
    report = ContentReport(school_id=school.id, target_type="comment", target_id=comment.id,
                           reporter_user_id=teacher.id if teacher else None,
                           reason="Rude about a colleague, in front of other families.",
                           created_at=comment.created_at)
    db.session.add(report)
    db.session.commit()
    return report
