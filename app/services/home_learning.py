"""Home learning: which pupils of a class have handed work in for a home-learning post, and the
"Completing reading/homework at home" point awarded from there.

A hand-in is an item on the pupil's own story that answers the post (``home_learning_post_id``),
in any state but sent back. An award for a task carries the request key ``home-learning-<post id>``:
with the pupil it names the task, so a double submit (or a second visit) awards each pupil once.
"""
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import contains_eager

from ..extensions import db
from ..models import PointAward, PortfolioItem, Post, Pupil
from ..models.portfolio import ITEM_SENT_BACK
from . import points
from .points import PointsError

KIND = "home_learning"
NOTE_WORDS = 8


def is_task(post):
    """A home-learning post set for one class: the only kind with hand-ins."""
    return post.kind == KIND and post.class_id is not None


def request_key(post):
    return f"home-learning-{post.id}"


def award_note(post):
    """"Home learning: <the first words of the post>", within the points note's length."""
    words = " ".join((post.body or "").split()).split(" ")
    start = " ".join(words[:NOTE_WORDS]).strip()
    if not start:
        return _("Home learning")
    if len(words) > NOTE_WORDS:
        start += "…"
    note = _("Home learning: %(start)s", start=start)
    if len(note) > points.MAX_NOTE:
        note = note[:points.MAX_NOTE - 1].rstrip() + "…"
    return note


def _handed_in(post):
    """Items answering the post that count as handed in (a sent-back item does not)."""
    return and_(PortfolioItem.home_learning_post_id == post.id, PortfolioItem.status != ITEM_SENT_BACK)


def _class_pupils(post):
    return and_(Pupil.school_id == post.school_id, Pupil.class_id == post.class_id, Pupil.status == "active")


@dataclass
class HandIns:
    post: Post
    handed_in: list = field(default_factory=list)  # [(pupil, [items oldest first])], by name
    not_yet: list = field(default_factory=list)  # [pupil], by name
    awarded: set = field(default_factory=set)  # pupil ids with a point for this task
    category: object = None  # the school's home-learning category, or None

    @property
    def total(self):
        return len(self.handed_in) + len(self.not_yet)

    @property
    def to_award(self):
        """Ticked by default: pupils who handed in and have no point for this task yet."""
        return {pupil.id for pupil, _items in self.handed_in if pupil.id not in self.awarded}


def hand_ins(post):
    """The class's pupils in two lists, handed in and not yet: one query each, none per pupil."""
    items = db.session.scalars(
        select(PortfolioItem).join(Pupil, Pupil.id == PortfolioItem.pupil_id)
        .where(_handed_in(post), _class_pupils(post))
        .options(contains_eager(PortfolioItem.pupil))
        .order_by(Pupil.display_name, Pupil.id, PortfolioItem.created_at, PortfolioItem.id))
    result = HandIns(post)
    for item in items:
        if not result.handed_in or result.handed_in[-1][0].id != item.pupil_id:
            result.handed_in.append((item.pupil, []))
        result.handed_in[-1][1].append(item)
    answered = exists().where(PortfolioItem.pupil_id == Pupil.id, _handed_in(post))
    result.not_yet = list(db.session.scalars(select(Pupil).where(_class_pupils(post), ~answered)
                                             .order_by(Pupil.display_name, Pupil.id)))
    result.awarded = awarded_pupil_ids(post)
    result.category = points.home_learning_category(post.school_class.school)
    return result


def awarded_pupil_ids(post):
    """Pupils with a point (not undone) for this task, from any member of staff."""
    return set(db.session.scalars(select(PointAward.pupil_id).where(
        PointAward.school_id == post.school_id, PointAward.request_key == request_key(post),
        PointAward.undone_at.is_(None))))


def award_for_task(post, by, pupil_ids, now=None):
    """Award the home-learning point to the chosen pupils of the post's class. A pupil who already
    has one for this task is skipped, so a double submit awards once. Returns (awarded, skipped):
    the new awards and the pupils passed over."""
    category = points.home_learning_category(by.school)
    if category is None:
        raise PointsError(_("The school has no category for reading and homework at home."))
    wanted = set(pupil_ids or ())
    if not wanted:
        raise PointsError(_("Tick at least one pupil."))
    pupils = list(db.session.scalars(select(Pupil).where(_class_pupils(post), Pupil.id.in_(wanted))
                                     .order_by(Pupil.display_name, Pupil.id)))
    if not pupils:
        raise PointsError(_("Tick at least one pupil of this class."))
    already = awarded_pupil_ids(post)
    fresh = [p for p in pupils if p.id not in already]
    skipped = [p for p in pupils if p.id in already]
    if not fresh:
        return [], skipped
    # award_points checks that this member of staff may award to each pupil, writes, audits nothing
    # more than the points screen does, and keeps the first awards of a repeated request key.
    awards = points.award_points(by, fresh, category, request_key(post), note=award_note(post), now=now)
    return awards, skipped


def add_hand_in_counts(cards):
    """"Handed in: 12 of 28" on the staff's cards of class home-learning posts: one query for a
    whole page of posts (none when the page has no such post)."""
    ids = [card.post.id for card in cards.values() if is_task(card.post)]
    if not ids:
        return
    item = PortfolioItem
    handed = case((item.id.is_not(None), Pupil.id))
    rows = db.session.execute(
        select(Post.id, func.count(func.distinct(Pupil.id)), func.count(func.distinct(handed)))
        .join(Pupil, and_(Pupil.class_id == Post.class_id, Pupil.school_id == Post.school_id,
                          Pupil.status == "active"))
        .outerjoin(item, and_(item.pupil_id == Pupil.id, item.home_learning_post_id == Post.id,
                              item.status != ITEM_SENT_BACK))
        .where(Post.id.in_(ids)).group_by(Post.id))
    counts = {post_id: (done, total) for post_id, total, done in rows}
    for post_id in ids:
        cards[post_id].hand_ins = counts.get(post_id, (0, 0))
