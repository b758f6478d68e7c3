"""Who hears about what (issue 9): one function per event, holding the rules of who is told.

The feature services call these inside their own transaction, just before they commit, so that
the news and the thing it is about are stored together or not at all. Each function decides the
recipients (only people who can see the thing, never the one who did it) and hands them to
``notifications.notify`` / ``notify_each``, which apply each person's choices. Every function
costs the same few queries whatever the number of recipients: one class post to thirty families,
or points for a class of thirty, is not thirty lookups.

Pupils have no notifications: a message to a pupil shows on their Messages badge only. What is
held for review (a comment or message with words on the school's lists) tells no one until a
reviewer releases it. "Needs work" points are never pushed at the family (SECURITY.md 23).
"""
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Conversation, ParentLink, PortfolioItem, Post, Pupil, User, class_teachers
from ..models.base import utcnow
from ..models.messaging import KIND_PARENT
from ..models.people import ROLE_HEAD, ROLE_PARENT, ROLE_SENIOR
from ..models.portfolio import ITEM_PENDING
from . import notifications
from .notifications import COMMENT, LIKE, MESSAGE, POINTS, POST, REPORT, WORK_WAITING, notify, notify_each

# A scheduled post is news while it is fresh: one published more than two days ago (the timer was
# stopped, say) is left alone rather than announced late.
POST_NEWS_WINDOW = timedelta(days=2)


def _users(stmt):
    """The people a statement selects (notify() leaves out anyone suspended or ended: User.blocked
    is the one place that says when a suspension is over)."""
    return list(db.session.scalars(stmt.order_by(User.id)))


def _parents_of_pupils(pupil_ids):
    """{pupil id: [parent User, ...]} for these pupils, in one query."""
    found = {}
    if not pupil_ids:
        return found
    rows = db.session.execute(select(ParentLink.pupil_id, User).join(User, User.id == ParentLink.parent_id)
                              .where(ParentLink.pupil_id.in_(list(pupil_ids)), User.role == ROLE_PARENT)
                              .order_by(User.id))
    for pupil_id, parent in rows:
        found.setdefault(pupil_id, []).append(parent)
    return found


# ---- messages --------------------------------------------------------------------------------------

def _message_entry(conversation, message):
    """(recipient, subject, pupil, group key) for a delivered message, or None (to a pupil)."""
    if message.from_staff:
        if conversation.kind != KIND_PARENT:
            return None  # pupils have no notifications: their Messages badge tells them
        recipient = conversation.parent
    else:
        recipient = conversation.staff
    return (recipient, f"conversation:{conversation.id}", conversation.pupil,
            f"message:{conversation.id}")


def _message_actor(message):
    return message.sender_user if message.sender_user_id is not None else None  # a pupil: shown by pupil


def message_sent(conversation, message, now=None):
    """A message arrived (sent, or released after review): the other side hears, staff <-> parent;
    a pupil's message to staff names the pupil."""
    entry = _message_entry(conversation, message)
    if entry is None:
        return []
    return notify_each([entry], MESSAGE, actor=_message_actor(message), now=now)


def messages_sent(sender, deliveries, now=None):
    """One member of staff's message to several families at once: ``deliveries`` are
    (conversation, message) pairs, the conversations' parents and pupils loaded."""
    entries = [entry for entry in (_message_entry(c, m) for c, m in deliveries) if entry is not None]
    return notify_each(entries, MESSAGE, actor=sender, now=now)


def messages_released(messages, now=None):
    """A reviewer released held messages (one, or every copy of a message to several families)."""
    if not messages:
        return []
    conversations = {c.id: c for c in db.session.scalars(
        select(Conversation).where(Conversation.id.in_({m.conversation_id for m in messages}))
        .options(selectinload(Conversation.staff), selectinload(Conversation.parent),
                 selectinload(Conversation.pupil)))}
    by_sender = {}
    for message in messages:
        key = (message.sender_user_id, message.sender_pupil_id)
        by_sender.setdefault(key, []).append((conversations[message.conversation_id], message))
    created = []
    for pairs in by_sender.values():
        entries = [entry for entry in (_message_entry(c, m) for c, m in pairs) if entry is not None]
        created += notify_each(entries, MESSAGE, actor=_message_actor(pairs[0][1]), now=now)
    return created


def conversation_read(account, conversation, now=None):
    """The reader has the conversation in front of them: its message notifications are read."""
    if account.is_pupil:
        return 0
    return notifications.mark_subject_read(account.id, f"conversation:{conversation.id}", now)


# ---- Class Story posts -----------------------------------------------------------------------------

def _post_families(post):
    """The parents who see a live class post: those of the class's active pupils (a whole-school
    post: of every active pupil of the school). One query."""
    pupils = select(Pupil.id).where(Pupil.school_id == post.school_id, Pupil.status == "active")
    if post.class_id is not None:
        pupils = pupils.where(Pupil.class_id == post.class_id)
    parents = select(ParentLink.parent_id).where(ParentLink.pupil_id.in_(pupils))
    return _users(select(User).where(User.id.in_(parents), User.school_id == post.school_id,
                                            User.role == ROLE_PARENT))


def _is_news(post, now):
    return (post.notified_at is None and post.published_at is not None and post.removed_at is None
            and now - POST_NEWS_WINDOW <= post.published_at <= now)


def post_published(post, now=None):
    """A post went live: the families who can see it hear of it, once (``post.notified_at``). A
    draft or a post scheduled for later says nothing yet (``notify_due_posts`` does, when due)."""
    now = now or utcnow()
    if not _is_news(post, now):
        return []
    return announce_post(post, now)


def announce_post(post, now):
    """Tell the post's families of it now and mark it told (the rules of ``post_published`` are
    the caller's to check)."""
    post.notified_at = now
    params = {"class_name": post.school_class.name} if post.school_class is not None else {}
    return notify(_post_families(post), POST, f"post:{post.id}", actor=post.author, params=params, now=now)


def notify_due_posts(now=None):
    """Announce the scheduled posts whose time has come (``flask notify send-due``, every minute).
    Each post is claimed with a conditional update, so two runs at once announce it once; each is
    committed on its own. Returns how many posts were announced."""
    now = now or utcnow()
    due = db.session.scalars(select(Post.id).where(
        Post.notified_at.is_(None), Post.published_at.is_not(None), Post.published_at <= now,
        Post.published_at >= now - POST_NEWS_WINDOW, Post.shown_to_others()).order_by(Post.published_at)).all()
    announced = 0
    for post_id in due:
        claimed = db.session.execute(update(Post).where(Post.id == post_id, Post.notified_at.is_(None))
                                     .values(notified_at=now).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            db.session.rollback()
            continue
        post = db.session.get(Post, post_id, populate_existing=True)
        announce_post(post, now)
        db.session.commit()
        announced += 1
    return announced


# ---- comments and likes ----------------------------------------------------------------------------

def _families_of_item(item):
    """The parents who see a pupil's own-story item: linked to the pupil, once it is approved and
    while it is not removed after a report (policies.can_view_portfolio_item)."""
    if not item.approved or item.removed_at is not None:
        return []
    return _users(select(User).where(
        User.id.in_(select(ParentLink.parent_id).where(ParentLink.pupil_id == item.pupil_id)),
        User.school_id == item.school_id, User.role == ROLE_PARENT))


def _response(target, kind, actor, now):
    if isinstance(target, Post):
        if target.removed_at is not None or not target.is_live(now or utcnow()):
            return []
        subject = f"post:{target.id}"
        return notify([target.author], kind, subject, actor=actor, group_key=f"{kind}:{subject}", now=now)
    subject = f"portfolio_item:{target.id}"
    return notify(_families_of_item(target), kind, subject, actor=actor, pupil=target.pupil,
                  group_key=f"{kind}:{subject}", now=now)


def comment_added(comment, target, now=None):
    """A comment others can read (not held; or released now): the post's author hears, or the
    family of the child whose work it is on."""
    if comment.held_at is not None and comment.held_decision != "released":
        return []
    return _response(target, COMMENT, comment.author, now)


def comment_released(comment, now=None):
    target = (db.session.get(Post, comment.post_id) if comment.post_id is not None
              else db.session.get(PortfolioItem, comment.portfolio_item_id))
    if target is None:
        return []
    return comment_added(comment, target, now)


def like_added(target, user, now=None):
    """A like (taking it back tells no one anything)."""
    return _response(target, LIKE, user, now)


# ---- pupils' work, reports, points -----------------------------------------------------------------

def work_waiting(item, now=None):
    """A pupil's work waits for approval: the class's teachers hear."""
    if item.status != ITEM_PENDING or not item.by_pupil or item.class_id is None:
        return []
    teachers = _users(select(User).join(class_teachers, class_teachers.c.user_id == User.id)
                             .where(class_teachers.c.class_id == item.class_id,
                                    User.school_id == item.school_id))
    return notify(teachers, WORK_WAITING, f"queue:{item.class_id}", pupil=item.pupil,
                  group_key=f"work:{item.class_id}", now=now)


def report_made(report, reporter, now=None):
    """A report waits for the senior leaders. Reports are anonymous to others, so no one is shown
    as having made it, and a senior leader who reported something is not told of it."""
    leaders = _users(select(User).where(User.school_id == report.school_id,
                                               User.role.in_((ROLE_SENIOR, ROLE_HEAD))))
    if not reporter.is_pupil:
        leaders = [u for u in leaders if u.id != reporter.id]
    return notify(leaders, REPORT, f"report:{report.id}", group_key=f"report:{report.school_id}", now=now)


def points_awarded(by, awards, pupils, now=None):
    """Points for pupils: each one's parents hear (those who asked: points are off by default).
    ``awards`` are the new PointAward rows, ``pupils`` the Pupil rows they are for. Needs-work
    points tell the family nothing. A fixed number of queries whatever the number of pupils."""
    now = now or utcnow()
    points = {}
    for award in awards:
        if not award.needs_work and award.undone_at is None:
            points[award.pupil_id] = points.get(award.pupil_id, 0) + award.value
    if not points:
        return []
    from .points import school_today
    day = school_today(by.school, now).isoformat()
    by_id = {p.id: p for p in pupils}
    parents = _parents_of_pupils(points)
    by_amount = {}
    for pupil_id, amount in points.items():
        for parent in parents.get(pupil_id, []):
            by_amount.setdefault(amount, []).append(
                (parent, f"pupil:{pupil_id}", by_id[pupil_id], f"points:{pupil_id}:{day}"))
    created = []
    for amount, entries in sorted(by_amount.items()):
        created += notify_each(entries, POINTS, actor=by, params={"points": amount}, add={"points": amount},
                               now=now)
    return created
