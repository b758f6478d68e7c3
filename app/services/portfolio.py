"""A pupil's own story (portfolio) and the class's Student Story.

Pupils add their work (photos or a short piece of writing); it waits for a teacher unless the class
approves automatically. Sharing with the class takes the pupil's wish *and* a teacher's yes.
Teachers add photos or notes for one family. Likes and comments use the same functions as the
Class Story (services.stories); comments on a child's own story stay with the teacher and that
child's family, whatever the school chose for Class Story comments.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.orm import contains_eager, joinedload

from ..extensions import db
from ..models import Comment, Like, MediaFile, MediaTag, PortfolioItem, Post, Pupil, User
from ..models.base import utcnow
from ..models.people import STAFF_ROLES
from ..models.portfolio import ITEM_APPROVED, ITEM_PENDING, ITEM_SENT_BACK
from . import notification_events
from .audit import audit
from .stories import MAX_BODY, MAX_PHOTOS, StoryError, add_responses, comments_for, visible_comments_clause
from .translation import prefetch_portfolio_item, writing_language

PAGE_SIZE = 30
QUEUE_LIMIT = 60
MAX_NOTE = 500
HOME_LEARNING_WEEKS = 6


@dataclass
class ItemCard:
    item: PortfolioItem
    media: list
    likes: int = 0
    liked: bool = False
    comments: int = 0
    teacher_liked: bool = False


class _FamilyOnly:
    """Stands in for the school when reading comments on a child's own story: never open to the class."""
    comments_open_to_class = False


FAMILY_ONLY = _FamilyOnly()


def visible_statuses(account, pupil):
    """Parents see approved items; the pupil and staff see every state."""
    if account.is_parent:
        return (ITEM_APPROVED,)
    return None


def _page(stmt, before, page_size):
    if before is not None:
        stmt = stmt.where(tuple_(PortfolioItem.created_at, PortfolioItem.id) < tuple_(*before))
    items = list(db.session.scalars(stmt.order_by(PortfolioItem.created_at.desc(), PortfolioItem.id.desc())
                                    .limit(page_size + 1)).unique())
    cursor = encode_cursor(items[page_size - 1]) if len(items) > page_size else None
    return items[:page_size], cursor


def items_page(account, pupil, before=None, page_size=PAGE_SIZE):
    stmt = (select(PortfolioItem).where(PortfolioItem.pupil_id == pupil.id)
            .options(joinedload(PortfolioItem.added_by)))
    if not account.is_staff:
        stmt = stmt.where(PortfolioItem.shown_to_others())
    statuses = visible_statuses(account, pupil)
    if statuses:
        stmt = stmt.where(PortfolioItem.status.in_(statuses))
    items, cursor = _page(stmt, before, page_size)
    return items, cursor, decorate_items(items, account)


def _shared_with(school_class):
    """Items on a class's Student Story: approved, the pupil asked to share, a teacher said yes; the
    pupil still in the class."""
    return (select(PortfolioItem).join(Pupil, Pupil.id == PortfolioItem.pupil_id)
            .where(PortfolioItem.school_id == school_class.school_id, PortfolioItem.class_id == school_class.id,
                   Pupil.class_id == school_class.id, Pupil.status == "active",
                   PortfolioItem.status == ITEM_APPROVED, PortfolioItem.share_requested.is_(True),
                   PortfolioItem.shared_at.is_not(None))
            .options(contains_eager(PortfolioItem.pupil), joinedload(PortfolioItem.added_by)))


def class_story_page(account, school_class, before=None, page_size=PAGE_SIZE):
    stmt = _shared_with(school_class)
    if not account.is_staff:
        stmt = stmt.where(PortfolioItem.shown_to_others())
    items, cursor = _page(stmt, before, page_size)
    return items, cursor, decorate_items(items, account)


def encode_cursor(item):
    return f"{item.created_at.strftime('%Y%m%d%H%M%S%f')}-{item.id}"


def decode_cursor(value):
    try:
        stamp, ident = (value or "").split("-", 1)
        return datetime.strptime(stamp, "%Y%m%d%H%M%S%f"), int(ident)
    except ValueError:
        return None


def media_by_item(item_ids):
    found = {i: [] for i in item_ids}
    if item_ids:
        for media in db.session.scalars(select(MediaFile).where(MediaFile.portfolio_item_id.in_(item_ids))
                                        .order_by(MediaFile.portfolio_item_id, MediaFile.position)):
            found[media.portfolio_item_id].append(media)
    return found


def decorate_items(items, account):
    """Photos, likes and comments of a page of items, in a fixed number of queries."""
    if not items:
        return {}
    media = media_by_item([i.id for i in items])
    cards = {i.id: ItemCard(i, media[i.id]) for i in items}
    add_responses(cards, "portfolio_item_id", account)
    ids = list(cards)
    if not account.is_staff and account.school.comments_open_to_class:
        for card in cards.values():
            card.comments = 0
        for target_id, count in db.session.execute(
                select(Comment.portfolio_item_id, func.count()).join(User, User.id == Comment.author_id)
                .where(Comment.portfolio_item_id.in_(ids), visible_comments_clause(account, FAMILY_ONLY))
                .group_by(Comment.portfolio_item_id)):
            cards[target_id].comments = count
    if account.is_pupil:
        for (target_id,) in db.session.execute(
                select(func.distinct(Like.portfolio_item_id)).join(User, User.id == Like.user_id)
                .where(Like.portfolio_item_id.in_(ids), User.role.in_(STAFF_ROLES))):
            cards[target_id].teacher_liked = True
    return cards


def item_comments(item, account):
    """The comments this reader sees on an item: staff's, and their own family's (staff see all)."""
    return comments_for(item, account, school=FAMILY_ONLY)


# ---- a teacher adds to one pupil's story ---------------------------------------------------------

def add_teacher_item(pupil, by, body, media_list, now=None, language=None):
    """A teacher puts photos or a note on one pupil's own story: only that family and staff see it."""
    body = (body or "").replace("\r\n", "\n").strip()
    if len(body) > MAX_BODY:
        raise StoryError(_("Notes can be up to %(num)d characters (this one has %(len)d).", num=MAX_BODY,
                           len=len(body)), "body")
    photos = [m for m in media_list if m.is_image]
    if len(photos) > MAX_PHOTOS:
        raise StoryError(_("Add up to %(num)d photos at a time.", num=MAX_PHOTOS), "media")
    if not body and not media_list:
        raise StoryError(_("Write a note or add a photo first."), "body")
    now = now or utcnow()
    item = PortfolioItem(school_id=pupil.school_id, pupil_id=pupil.id, class_id=pupil.class_id,
                         added_by_id=by.id, by_pupil=False, body=body, language=language or writing_language(by),
                         status=ITEM_APPROVED, reviewed_by_id=by.id, reviewed_at=now, created_at=now)
    db.session.add(item)
    db.session.flush()
    for position, media in enumerate(media_list):
        media.post_id, media.portfolio_item_id, media.position = None, item.id, position
        if media.shows_people and pupil.id not in media.tagged_pupil_ids:
            media.tags.append(MediaTag(pupil_id=pupil.id))
    audit("portfolio.item_added", "portfolio_item", item.id, actor=by, school_id=pupil.school_id,
          detail={"pupil_id": pupil.id, "media": len(media_list)})
    db.session.commit()
    prefetch_portfolio_item(item)
    return item


# ---- a pupil adds their work -----------------------------------------------------------------------

def pupil_may_add(pupil):
    """Pupils add work only while their class has pupil uploads on (the policy makes it optional)."""
    school_class = pupil.school_class
    return bool(pupil.is_active and school_class is not None and school_class.archived_at is None
                and school_class.pupil_uploads_enabled)


def home_learning_tasks(pupil, now=None):
    """Live home-learning posts of the pupil's class from the last six weeks, newest first."""
    if pupil.class_id is None:
        return []
    now = now or utcnow()
    return list(db.session.scalars(
        select(Post).where(Post.school_id == pupil.school_id, Post.class_id == pupil.class_id,
                           Post.kind == "home_learning", Post.published_at.is_not(None),
                           Post.published_at <= now, Post.shown_to_others(),
                           Post.published_at >= now - timedelta(weeks=HOME_LEARNING_WEEKS))
        .order_by(Post.published_at.desc(), Post.id.desc()).limit(20)))


def staged_pupil_media(pupil, media_ids):
    """Photos this pupil uploaded that belong to nothing yet, in the order given."""
    if not media_ids:
        return []
    rows = db.session.scalars(select(MediaFile).where(
        MediaFile.id.in_(media_ids), MediaFile.school_id == pupil.school_id,
        MediaFile.uploaded_by_pupil_id == pupil.id, MediaFile.post_id.is_(None),
        MediaFile.portfolio_item_id.is_(None), MediaFile.message_id.is_(None)))
    found = {m.id: m for m in rows}
    return [found[i] for i in media_ids if i in found]


def remove_pupil_upload(pupil, media):
    """The pupil takes a photo back out before sending."""
    from . import media as media_service
    if media.staged and media.uploaded_by_pupil_id == pupil.id:
        media_service.discard(media)
        db.session.commit()


def add_pupil_item(pupil, *, body, media_list, share_requested=False, task=None, now=None, language=None):
    """A pupil's photos (with an optional caption) or a short piece of writing. It waits for a
    teacher, or is approved at once when the class approves automatically; sharing with the class
    always waits for a teacher."""
    if not pupil_may_add(pupil):
        raise StoryError(_("Adding work is turned off for your class."), "body")
    body = (body or "").replace("\r\n", "\n").strip()
    if len(body) > MAX_BODY:
        raise StoryError(_("That is too long: up to %(num)d letters (this has %(len)d).", num=MAX_BODY,
                           len=len(body)), "body")
    if len(media_list) > MAX_PHOTOS:
        raise StoryError(_("Up to %(num)d photos at a time.", num=MAX_PHOTOS), "files")
    if not body and not media_list:
        raise StoryError(_("Take a photo or write something first."), "body")
    if task is not None and task.id not in {t.id for t in home_learning_tasks(pupil, now)}:
        raise StoryError(_("Choose one of the home learning tasks."), "home_learning")
    now = now or utcnow()
    school_class = pupil.school_class
    automatic = school_class.auto_approve_portfolio
    item = PortfolioItem(school_id=pupil.school_id, pupil_id=pupil.id, class_id=school_class.id,
                         by_pupil=True, body=body, language=language or writing_language(pupil),
                         status=ITEM_APPROVED if automatic else ITEM_PENDING,
                         share_requested=bool(share_requested), reviewed_at=now if automatic else None,
                         home_learning_post_id=task.id if task is not None else None, created_at=now)
    db.session.add(item)
    db.session.flush()
    for position, media in enumerate(media_list):
        media.post_id, media.portfolio_item_id, media.position = None, item.id, position
    audit("portfolio.item_submitted", "portfolio_item", item.id, actor=pupil, school_id=pupil.school_id,
          detail={"class_id": school_class.id, "status": item.status, "media": len(media_list),
                  "share_requested": item.share_requested, "home_learning_post_id": item.home_learning_post_id})
    notification_events.work_waiting(item, now)  # waiting for approval: the class's teachers hear
    db.session.commit()
    if item.approved:
        prefetch_portfolio_item(item)
    return item


# ---- teachers review pupils' work ----------------------------------------------------------------

def reviewable_class_ids(account):
    """None: every class of the school (senior leaders); else the classes this teacher teaches."""
    if account.is_senior:
        return None
    return [c.id for c in account.classes if c.archived_at is None]


def _for_classes(stmt, account, class_ids):
    stmt = stmt.join(Pupil, Pupil.id == PortfolioItem.pupil_id).where(
        PortfolioItem.school_id == account.school_id, Pupil.school_id == account.school_id,
        Pupil.status == "active", PortfolioItem.by_pupil.is_(True))
    if class_ids is not None:
        stmt = stmt.where(Pupil.class_id.in_(class_ids or [-1]))
    return stmt


_WAITING = PortfolioItem.status == ITEM_PENDING
_SHARING_TO_DECIDE = and_(PortfolioItem.status == ITEM_APPROVED, PortfolioItem.share_requested.is_(True),
                          PortfolioItem.shared_at.is_(None))


@dataclass
class Queue:
    waiting: list = field(default_factory=list)
    sharing: list = field(default_factory=list)
    more_waiting: int = 0
    more_sharing: int = 0
    cards: dict = field(default_factory=dict)
    tasks: dict = field(default_factory=dict)  # home-learning post id -> post


def review_queue(account, class_ids):
    """Pupils' work waiting for this teacher, oldest first, and approved work whose sharing with the
    class is still to be decided. A bounded number of queries whatever the length of the queue."""
    queue = Queue()
    for condition, name in ((_WAITING, "waiting"), (_SHARING_TO_DECIDE, "sharing")):
        stmt = (_for_classes(select(PortfolioItem), account, class_ids).where(condition)
                .options(contains_eager(PortfolioItem.pupil).joinedload(Pupil.school_class))
                .order_by(PortfolioItem.created_at, PortfolioItem.id).limit(QUEUE_LIMIT + 1))
        items = list(db.session.scalars(stmt).unique())
        if len(items) > QUEUE_LIMIT:
            total = db.session.scalar(_for_classes(select(func.count(PortfolioItem.id)), account, class_ids)
                                      .where(condition))
            setattr(queue, f"more_{name}", total - QUEUE_LIMIT)
            items = items[:QUEUE_LIMIT]
        setattr(queue, name, items)
    everything = queue.waiting + queue.sharing
    media = media_by_item([i.id for i in everything])
    queue.cards = {i.id: ItemCard(i, media[i.id]) for i in everything}
    task_ids = {i.home_learning_post_id for i in everything if i.home_learning_post_id}
    if task_ids:
        queue.tasks = {p.id: p for p in db.session.scalars(select(Post).where(Post.id.in_(task_ids)))}
    return queue


def waiting_count(account, school_class):
    """How many pieces of work of a class wait on its teachers (approval or a sharing decision)."""
    return db.session.scalar(_for_classes(select(func.count(PortfolioItem.id)), account, [school_class.id])
                             .where(or_(_WAITING, _SHARING_TO_DECIDE))) or 0


def _reviewed(item, by, now):
    item.reviewed_by_id, item.reviewed_at = by.id, now


def approve(items, by, share=None, now=None):
    """Approve pupils' work. ``share``: True shares each item whose pupil asked to share it, False
    keeps them private, None leaves sharing to decide later. Work already approved is left as it is
    (a second tap changes nothing). Returns the items approved now."""
    now = now or utcnow()
    done = []
    for item in items:
        if item.status == ITEM_APPROVED:
            continue
        item.status, item.review_note = ITEM_APPROVED, None
        _reviewed(item, by, now)
        if item.share_requested and share is True:
            item.shared_at = now
        elif item.share_requested and share is False:
            item.share_requested = False
        audit("portfolio.item_approved", "portfolio_item", item.id, actor=by, school_id=item.school_id,
              detail={"pupil_id": item.pupil_id, "shared": item.shared_at is not None,
                      "bulk": len(items) > 1})
        done.append(item)
    db.session.commit()
    return done


def send_back(item, by, note, now=None):
    """Send work back to the pupil with a kind note (required); it leaves the family's view and the
    class's until it is approved again."""
    note = (note or "").replace("\r\n", "\n").strip()
    if not note:
        raise StoryError(_("Write a kind note, or tap one of the suggestions."), "note")
    if len(note) > MAX_NOTE:
        raise StoryError(_("Notes can be up to %(num)d characters (this one has %(len)d).", num=MAX_NOTE,
                           len=len(note)), "note")
    now = now or utcnow()
    item.status, item.review_note, item.shared_at = ITEM_SENT_BACK, note, None
    _reviewed(item, by, now)
    audit("portfolio.item_sent_back", "portfolio_item", item.id, actor=by, school_id=item.school_id,
          detail={"pupil_id": item.pupil_id})
    db.session.commit()
    return item


def decide_sharing(item, by, share, now=None):
    """An approved item the pupil asked to share: a teacher shares it with the class or keeps it
    private (the pupil's family and staff still see it)."""
    if not (item.approved and item.share_requested):
        return item
    now = now or utcnow()
    if share:
        item.shared_at = item.shared_at or now
    else:
        item.share_requested, item.shared_at = False, None
    _reviewed(item, by, now)
    audit("portfolio.item_shared" if share else "portfolio.item_kept_private", "portfolio_item", item.id,
          actor=by, school_id=item.school_id, detail={"pupil_id": item.pupil_id})
    db.session.commit()
    return item


def set_class_options(school_class, by, *, pupil_uploads_enabled, auto_approve):
    before = {"pupil_uploads_enabled": school_class.pupil_uploads_enabled,
              "auto_approve_portfolio": school_class.auto_approve_portfolio}
    school_class.pupil_uploads_enabled = bool(pupil_uploads_enabled)
    school_class.auto_approve_portfolio = bool(auto_approve)
    after = {"pupil_uploads_enabled": school_class.pupil_uploads_enabled,
             "auto_approve_portfolio": school_class.auto_approve_portfolio}
    audit("portfolio.class_options", "school_class", school_class.id, actor=by, school_id=school_class.school_id,
          detail={"before": before, "after": after})
    db.session.commit()
    return school_class

