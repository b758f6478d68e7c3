"""A pupil's own story (portfolio): reading it, and a teacher adding photos or a note to it.

Likes and comments use the same functions as the Class Story (services.stories).
"""
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select, tuple_

from ..extensions import db
from ..models import MediaFile, PortfolioItem
from ..models.base import utcnow
from ..models.portfolio import ITEM_APPROVED
from .audit import audit
from .stories import MAX_BODY, MAX_PHOTOS, StoryError, add_responses

PAGE_SIZE = 12


@dataclass
class ItemCard:
    item: PortfolioItem
    media: list
    likes: int = 0
    liked: bool = False
    comments: int = 0


def visible_statuses(account, pupil):
    """Parents see approved items; the pupil and staff see every state."""
    if account.is_parent:
        return (ITEM_APPROVED,)
    return None


def items_page(account, pupil, before=None, page_size=PAGE_SIZE):
    stmt = select(PortfolioItem).where(PortfolioItem.pupil_id == pupil.id)
    statuses = visible_statuses(account, pupil)
    if statuses:
        stmt = stmt.where(PortfolioItem.status.in_(statuses))
    if before is not None:
        stmt = stmt.where(tuple_(PortfolioItem.created_at, PortfolioItem.id) < tuple_(*before))
    items = list(db.session.scalars(stmt.order_by(PortfolioItem.created_at.desc(), PortfolioItem.id.desc())
                                    .limit(page_size + 1)))
    cursor = encode_cursor(items[page_size - 1]) if len(items) > page_size else None
    items = items[:page_size]
    return items, cursor, decorate_items(items, account)


def encode_cursor(item):
    return f"{item.created_at.strftime('%Y%m%d%H%M%S%f')}-{item.id}"


def decode_cursor(value):
    try:
        stamp, ident = (value or "").split("-", 1)
        return datetime.strptime(stamp, "%Y%m%d%H%M%S%f"), int(ident)
    except ValueError:
        return None


def decorate_items(items, account):
    if not items:
        return {}
    cards = {i.id: ItemCard(i, []) for i in items}
    for media in db.session.scalars(select(MediaFile).where(MediaFile.portfolio_item_id.in_(list(cards)))
                                    .order_by(MediaFile.portfolio_item_id, MediaFile.position)):
        cards[media.portfolio_item_id].media.append(media)
    add_responses(cards, "portfolio_item_id", account)
    return cards


def add_teacher_item(pupil, by, body, media_list, now=None):
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
                         added_by_id=by.id, by_pupil=False, body=body, status=ITEM_APPROVED,
                         reviewed_by_id=by.id, reviewed_at=now, created_at=now)
    db.session.add(item)
    db.session.flush()
    for position, media in enumerate(media_list):
        media.post_id, media.portfolio_item_id, media.position = None, item.id, position
        if media.shows_people and pupil.id not in media.tagged_pupil_ids:
            from ..models import MediaTag
            media.tags.append(MediaTag(pupil_id=pupil.id))
    audit("portfolio.item_added", "portfolio_item", item.id, actor=by, school_id=pupil.school_id,
          detail={"pupil_id": pupil.id, "media": len(media_list)})
    db.session.commit()
    return item
