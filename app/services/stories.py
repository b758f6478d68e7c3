"""The Class Story: posting (drafts, schedule, edits with history, pins), photo consent at
publishing and at display, the feed, likes, comments and "seen by".

Likes and comments are one mechanism for class posts and for items on a pupil's own story:
functions here take either as their *target*.
"""
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import (
    Comment,
    Like,
    MediaFile,
    MediaTag,
    ParentLink,
    PortfolioItem,
    Post,
    PostRevision,
    PostSeen,
    Pupil,
    SchoolClass,
    User,
)
from ..models.base import utcnow
from ..models.consent import CONSENT_YES
from ..models.people import STAFF_ROLES
from ..models.portfolio import ITEM_APPROVED
from ..models.stories import POST_KINDS
from . import notification_events
from .audit import audit
from .moderation import hold_words
from .translation import forget_texts, prefetch_post, writing_language

PAGE_SIZE = 10
MAX_BODY = 5000
MAX_COMMENT = 1000
MAX_PHOTOS = 10
MAX_VIDEOS = 1
MAX_DOCUMENTS = 5


class StoryError(ValueError):
    """A rule was broken; the message is for the user, in their language."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


# ---- who is in a photo, and who may see it ---------------------------------------------------------

@dataclass
class ConsentProblem:
    """A photo or video that cannot go on the Class Story as it is."""
    media: MediaFile
    kind: str  # "no_consent", "untagged"
    pupils: list = field(default_factory=list)  # tagged pupils without a "yes"

    @property
    def own_story_pupil(self):
        """The one pupil whose own story may take the photo instead (only when every other pupil
        in it has consent: their family would see the others)."""
        return self.pupils[0] if self.kind == "no_consent" and len(self.pupils) == 1 else None


def consent_problems(media_list, pupils_by_id):
    """What stops these photos and videos going on the Class Story (checked at publishing)."""
    problems = []
    for media in media_list:
        if not media.shows_people:
            continue
        tagged = [pupils_by_id[t.pupil_id] for t in media.tags if t.pupil_id in pupils_by_id]
        if not tagged and not media.no_child_confirmed:
            problems.append(ConsentProblem(media, "untagged"))
            continue
        missing = [p for p in tagged if p.photo_consent != CONSENT_YES]
        if missing:
            problems.append(ConsentProblem(media, "no_consent", missing))
    return problems


def own_pupil_ids(account):
    """The pupils whose photos an account sees whatever their consent: a parent's own children,
    a pupil themself."""
    if account.is_pupil:
        return {account.id}
    if account.is_parent:
        return {link.pupil_id for link in account.children_links}
    return set()


def hidden_from(media, account, own_ids, consent_by_pupil):
    """True when this viewer may not see this photo or video (checked at display, every time)."""
    if not media.shows_people or account.is_staff:
        return False
    tagged = media.tagged_pupil_ids
    if not tagged:
        return not media.no_child_confirmed
    return any(consent_by_pupil.get(pid) != CONSENT_YES and pid not in own_ids for pid in tagged)


def consent_of(pupil_ids):
    if not pupil_ids:
        return {}
    rows = db.session.execute(select(Pupil.id, Pupil.photo_consent).where(Pupil.id.in_(pupil_ids)))
    return dict(rows.all())


# ---- posting ---------------------------------------------------------------------------------------

def taggable_pupils(school, school_class):
    """The pupils a teacher can tap on a photo: the class's, or the whole school's."""
    stmt = select(Pupil).where(Pupil.school_id == school.id, Pupil.status == "active")
    if school_class is not None:
        stmt = stmt.where(Pupil.class_id == school_class.id)
    return list(db.session.scalars(stmt.options(joinedload(Pupil.school_class))
                                   .order_by(Pupil.class_id, Pupil.display_name)))


def staged_media(account, media_ids):
    """Media this user uploaded and that belong to nothing yet, or to the given post: in order."""
    if not media_ids:
        return []
    rows = db.session.scalars(select(MediaFile).where(
        MediaFile.id.in_(media_ids), MediaFile.school_id == account.school_id,
        MediaFile.portfolio_item_id.is_(None), MediaFile.message_id.is_(None)))
    found = {m.id: m for m in rows}
    return [found[i] for i in media_ids if i in found]


def media_belongs(media, account, post):
    """A media file may be used in this post: it is already in it, or it is the user's own staged
    upload."""
    if post is not None and media.post_id == post.id:
        return True
    return media.staged and media.uploaded_by_id == account.id


@dataclass
class PostDraft:
    """What the editor form sent: text and choices, the media in order with their tags."""
    kind: str
    body: str
    comments_enabled: bool = True
    media_ids: list = field(default_factory=list)
    tags: dict = field(default_factory=dict)  # media id -> set of pupil ids
    no_child: set = field(default_factory=set)  # media ids confirmed to show no child
    alt: dict = field(default_factory=dict)  # media id -> alt text
    language: str | None = None  # what the body is written in (None: the writer's, see writing_language)


def apply_media_choices(media_list, draft, pupils_by_id):
    """Write the form's tags, "no child" confirmations and descriptions onto the media."""
    for media in media_list:
        wanted = {pid for pid in draft.tags.get(media.id, set()) if pid in pupils_by_id}
        for tag in list(media.tags):
            if tag.pupil_id not in wanted:
                media.tags.remove(tag)
        have = media.tagged_pupil_ids
        for pid in sorted(wanted - have):
            media.tags.append(MediaTag(pupil_id=pid))
        media.no_child_confirmed = media.id in draft.no_child and not wanted
        media.alt_text = (draft.alt.get(media.id) or "").strip()[:300]


def _check_counts(media_list):
    photos = sum(1 for m in media_list if m.is_image)
    videos = sum(1 for m in media_list if m.is_video)
    documents = sum(1 for m in media_list if m.is_document)
    if photos > MAX_PHOTOS:
        raise StoryError(_("A post can have up to %(num)d photos. Remove %(extra)d.", num=MAX_PHOTOS,
                           extra=photos - MAX_PHOTOS), "media")
    if videos > MAX_VIDEOS:
        raise StoryError(_("A post can have one video. Remove %(extra)d.", extra=videos - MAX_VIDEOS), "media")
    if documents > MAX_DOCUMENTS:
        raise StoryError(_("A post can have up to %(num)d documents.", num=MAX_DOCUMENTS), "media")


def post_with_key(author, request_key):
    """The post this author created with this form key (a repeated or double-tapped form)."""
    if not request_key:
        return None
    return db.session.scalar(select(Post).where(Post.author_id == author.id, Post.request_key == request_key[:64]))


def save_post(post, *, author, school, school_class, draft, media_list, pupils_by_id, publish_at=None,
              now=None, request_key=None):
    """Create or update a post. ``publish_at``: None keeps a draft; a time publishes then (now, or
    scheduled). Publishing checks every photo's consent; a draft may hold anything.

    Returns the post. Raises StoryError (nothing saved) or returns consent problems for the route to
    show, through ``ConsentRefused``.
    """
    now = now or utcnow()
    if post is None:
        first = post_with_key(author, request_key)
        if first is not None:  # the same new-post form again: the first post stands
            return first
    body = (draft.body or "").replace("\r\n", "\n").strip()
    if draft.kind not in POST_KINDS:
        raise StoryError(_("Choose what kind of post this is."), "kind")
    if len(body) > MAX_BODY:
        raise StoryError(_("Posts can be up to %(num)d characters (this one has %(len)d).", num=MAX_BODY,
                           len=len(body)), "body")
    _check_counts(media_list)
    publishing = publish_at is not None
    if publishing and not body and not media_list:
        raise StoryError(_("Write something or add a photo before publishing."), "body")
    apply_media_choices(media_list, draft, pupils_by_id)
    if publishing:
        problems = consent_problems(media_list, pupils_by_id)
        if problems:
            db.session.flush()  # tags chosen so far are kept on the staged media
            raise ConsentRefused(problems)

    created = post is None
    language = draft.language or writing_language(author, current=None if created else post.language)
    if created:
        post = Post(school_id=school.id, class_id=school_class.id if school_class else None,
                    author_id=author.id, kind=draft.kind, body=body, language=language, created_at=now,
                    request_key=(request_key or "")[:64] or None)
        db.session.add(post)
        try:
            db.session.flush()
        except IntegrityError:  # another request with the same form key got there first
            db.session.rollback()
            first = post_with_key(author, request_key)
            if first is None:
                raise
            return first
    else:
        live_before = post.is_live(now)
        if live_before and (post.body != body or post.kind != draft.kind):
            db.session.add(PostRevision(post_id=post.id, kind=post.kind, body=post.body,
                                        edited_by_id=author.id, edited_at=now))
            post.edited_at = now
        post.kind, post.body, post.language = draft.kind, body, language
    post.comments_enabled = draft.comments_enabled
    if not publishing:
        post.published_at = None
    elif publish_at > now:
        post.published_at = publish_at  # scheduled
    elif not post.is_live(now):
        post.published_at = now  # a live post keeps its place in the feed when edited
    db.session.flush()

    keep = {m.id for m in media_list}
    for old in db.session.scalars(select(MediaFile).where(MediaFile.post_id == post.id)):
        if old.id not in keep:
            _discard_media(old)
    for position, media in enumerate(media_list):
        media.post_id, media.position = post.id, position
    action = "story.post_created" if created else "story.post_updated"
    audit(action, "post", post.id, actor=author, school_id=school.id,
          detail={"class_id": post.class_id, "state": post_state(post, now), "media": len(media_list)})
    notification_events.post_published(post, now)  # live now: the families hear (scheduled: when due)
    try:
        db.session.commit()
    except IntegrityError:  # the same new-post form twice at the same moment: the first one stands
        db.session.rollback()
        first = post_with_key(author, request_key) if created else None
        if first is None:
            raise
        return first
    prefetch_post(post)  # translations for the class's families, prepared without waiting for them
    return post


class ConsentRefused(StoryError):
    def __init__(self, problems):
        super().__init__(_("Some photos can't go on the Class Story as they are."), "media")
        self.problems = problems


def post_state(post, now=None):
    now = now or utcnow()
    if post.is_draft():
        return "draft"
    return "scheduled" if post.is_scheduled(now) else "live"


def _discard_media(media):
    from . import media as media_service
    media_service.discard(media)


def remove_staged(account, media):
    """The uploader removes a photo from the editor before saving."""
    if media.staged and media.uploaded_by_id == account.id:
        _discard_media(media)
        db.session.commit()


def delete_post(post, by):
    for media in db.session.scalars(select(MediaFile).where(MediaFile.post_id == post.id)):
        _discard_media(media)
    audit("story.post_deleted", "post", post.id, actor=by, school_id=post.school_id,
          detail={"class_id": post.class_id, "author_id": post.author_id})
    texts = [(post.body, post.language)] + [(r.body, post.language) for r in post.revisions]
    texts += db.session.execute(select(Comment.body, Comment.language).where(Comment.post_id == post.id)).all()
    db.session.delete(post)
    db.session.flush()
    forget_texts(post.school_id, texts)  # no translation outlives the text it came from
    from .notifications import forget_subject
    forget_subject(f"post:{post.id}")  # news of a post that is gone would lead nowhere
    db.session.commit()


def set_pinned(post, by, pinned, now=None):
    """One pinned post per class (and one for the whole school): pinning another unpins it."""
    now = now or utcnow()
    if pinned:
        same_place = Post.class_id.is_(None) if post.class_id is None else Post.class_id == post.class_id
        db.session.execute(update(Post).where(Post.school_id == post.school_id, same_place, Post.id != post.id)
                           .values(pinned_at=None))
        post.pinned_at = now
    else:
        post.pinned_at = None
    audit("story.post_pinned" if pinned else "story.post_unpinned", "post", post.id, actor=by,
          school_id=post.school_id)
    db.session.commit()


def set_comments_enabled(post, by, enabled):
    post.comments_enabled = enabled
    audit("story.comments_on" if enabled else "story.comments_off", "post", post.id, actor=by,
          school_id=post.school_id)
    db.session.commit()


def move_to_own_story(media, pupil, by, caption=""):
    """A photo refused by the Class Story for lack of consent goes on the pupil's own story,
    where only the pupil's family and staff see it."""
    item = PortfolioItem(school_id=pupil.school_id, pupil_id=pupil.id, class_id=pupil.class_id,
                         added_by_id=by.id, by_pupil=False, body=(caption or "").strip()[:MAX_BODY],
                         language=writing_language(by), status=ITEM_APPROVED, reviewed_by_id=by.id,
                         reviewed_at=utcnow())
    db.session.add(item)
    db.session.flush()
    for tag in list(media.tags):
        if tag.pupil_id != pupil.id:
            media.tags.remove(tag)
    if pupil.id not in media.tagged_pupil_ids:
        media.tags.append(MediaTag(pupil_id=pupil.id))
    media.post_id, media.portfolio_item_id, media.position = None, item.id, 0
    audit("story.moved_to_own_story", "portfolio_item", item.id, actor=by, school_id=pupil.school_id,
          detail={"pupil_id": pupil.id, "media_id": media.id})
    db.session.commit()
    return item


# ---- the feed -------------------------------------------------------------------------------------

def feed_classes(account):
    """The classes whose posts make up this account's feed (whole-school posts come too)."""
    if account.is_parent:
        ids = {c.class_id for c in account.children if c.class_id}
        return list(db.session.scalars(select(SchoolClass).where(SchoolClass.id.in_(ids))
                                       .order_by(SchoolClass.year_group, SchoolClass.name))) if ids else []
    if account.is_pupil:
        return [account.school_class] if account.school_class else []
    return [c for c in account.classes if c.archived_at is None]


def encode_cursor(post):
    return f"{post.published_at.strftime('%Y%m%d%H%M%S%f')}-{post.id}"


def decode_cursor(value):
    try:
        stamp, ident = (value or "").split("-", 1)
        return datetime.strptime(stamp, "%Y%m%d%H%M%S%f"), int(ident)
    except ValueError:
        return None


@dataclass
class FeedPage:
    posts: list
    pinned: list
    next_cursor: str | None
    cards: dict  # post id -> PostCard


@dataclass
class PostCard:
    """What a reader sees of a post: the media they may see, likes, comments, seen by."""
    post: Post
    media: list
    hidden_media: list  # staff only: media hidden from families for want of consent
    documents: list
    likes: int = 0
    liked: bool = False
    comments: int = 0
    seen: int | None = None
    families: int | None = None
    hand_ins: tuple | None = None  # staff, class home-learning posts: (handed in, pupils)


def feed_page(account, class_ids, *, whole_school=True, before=None, now=None, page_size=PAGE_SIZE):
    """Newest first, keyset-paginated: the same few queries on day one and after five years."""
    now = now or utcnow()
    place = Post.class_id.in_(class_ids) if class_ids else None
    if whole_school:
        place = or_(place, Post.class_id.is_(None)) if place is not None else Post.class_id.is_(None)
    if place is None:
        return FeedPage([], [], None, {})
    base = (select(Post).where(Post.school_id == account.school_id, place, Post.published_at.is_not(None),
                               Post.published_at <= now)
            .options(joinedload(Post.author), joinedload(Post.school_class)))
    if not account.is_staff:
        base = base.where(Post.shown_to_others())  # staff see it, marked "Removed after a report"
    pinned = []
    stream = base.where(Post.pinned_at.is_(None))
    if before is None:
        pinned = list(db.session.scalars(base.where(Post.pinned_at.is_not(None))
                                         .order_by(Post.pinned_at.desc()).limit(3)))
    else:
        stream = stream.where(tuple_(Post.published_at, Post.id) < tuple_(*before))
    posts = list(db.session.scalars(stream.order_by(Post.published_at.desc(), Post.id.desc())
                                    .limit(page_size + 1)))
    next_cursor = encode_cursor(posts[page_size - 1]) if len(posts) > page_size else None
    posts = posts[:page_size]
    cards = decorate(pinned + posts, account)
    return FeedPage(posts, pinned, next_cursor, cards)


def decorate(posts, account):
    """Everything a page of posts shows, in a fixed number of queries (none per post or photo)."""
    if not posts:
        return {}
    ids = [p.id for p in posts]
    media_rows = list(db.session.scalars(select(MediaFile).where(MediaFile.post_id.in_(ids))
                                         .order_by(MediaFile.post_id, MediaFile.position)))
    tagged = {t.pupil_id for m in media_rows for t in m.tags}
    consent = consent_of(tagged)
    own = own_pupil_ids(account)
    cards = {p.id: PostCard(p, [], [], []) for p in posts}
    for media in media_rows:
        card = cards[media.post_id]
        if media.is_document:
            card.documents.append(media)
        elif hidden_from(media, account, own, consent):
            continue
        elif account.is_staff and any(consent.get(pid) != CONSENT_YES for pid in media.tagged_pupil_ids):
            card.hidden_media.append(media)
            card.media.append(media)
        else:
            card.media.append(media)
    add_responses(cards, "post_id", account)
    if account.is_staff:
        seen, families = seen_counts(posts)
        for post in posts:
            cards[post.id].seen = seen.get(post.id, 0)
            cards[post.id].families = families.get(post.class_id, 0)
        from .home_learning import add_hand_in_counts
        add_hand_in_counts(cards)
    return cards


def add_responses(cards, key, account):
    """Fill in likes, "liked by me" and visible comments on cards keyed by post or item id, in
    three queries whatever their number. ``key``: "post_id" or "portfolio_item_id"."""
    ids = list(cards)
    like_col, comment_col = getattr(Like, key), getattr(Comment, key)
    for target_id, count in db.session.execute(select(like_col, func.count()).where(like_col.in_(ids))
                                               .group_by(like_col)):
        cards[target_id].likes = count
    if not account.is_pupil:
        for (target_id,) in db.session.execute(select(like_col).where(like_col.in_(ids),
                                                                      Like.user_id == account.id)):
            cards[target_id].liked = True
    for target_id, count in db.session.execute(select(comment_col, func.count()).select_from(Comment)
                                               .join(User, User.id == Comment.author_id)
                                               .where(comment_col.in_(ids), visible_comments_clause(account))
                                               .group_by(comment_col)):
        cards[target_id].comments = count


def visible_comments_clause(account, school=None):
    """Which comments this account reads (the query must join User on the author).
    Staff: all. Others: staff comments, their own family's, and everyone's when the school opens
    comments to the class. Hidden comments: staff only. Held for review (issue 8): their author
    only (reviewers work from the moderation queue)."""
    if account.is_staff:
        return or_(Comment.held_at.is_(None), Comment.held_decision == "released", Comment.author_id == account.id)
    shown = Comment.shown_to_others()
    if not account.is_pupil:  # a writer sees their own comment while it waits, or was not shared
        shown = or_(shown, and_(Comment.author_id == account.id, Comment.hidden_at.is_(None)))
    school = school or account.school
    if school.comments_open_to_class:
        return shown
    family = family_user_ids(account)
    return and_(shown, or_(User.role.in_(STAFF_ROLES), Comment.author_id.in_(family)))


def family_user_ids(account):
    """A parent's family: every parent or carer who shares a child with them (a subquery).
    A pupil's family: the pupil's parents."""
    if account.is_pupil:
        return select(ParentLink.parent_id).where(ParentLink.pupil_id == account.id)
    children = select(ParentLink.pupil_id).where(ParentLink.parent_id == account.id)
    return select(ParentLink.parent_id).where(or_(ParentLink.pupil_id.in_(children),
                                                  ParentLink.parent_id == account.id))


def seen_counts(posts):
    """How many families have seen each post (a count of children, never who), and how many
    families each class has."""
    ids = [p.id for p in posts]
    rows = db.session.execute(
        select(PostSeen.post_id, func.count(func.distinct(ParentLink.pupil_id)))
        .join(ParentLink, ParentLink.parent_id == PostSeen.user_id)
        .join(Pupil, Pupil.id == ParentLink.pupil_id)
        .join(Post, Post.id == PostSeen.post_id)
        .where(PostSeen.post_id.in_(ids), Pupil.status == "active",
               or_(Post.class_id.is_(None), Pupil.class_id == Post.class_id))
        .group_by(PostSeen.post_id))
    seen = dict(rows.all())
    class_ids = {p.class_id for p in posts if p.class_id}
    school_id = posts[0].school_id
    families = {}
    with_parents = (select(Pupil.class_id, func.count(func.distinct(Pupil.id)))
                    .join(ParentLink, ParentLink.pupil_id == Pupil.id)
                    .where(Pupil.school_id == school_id, Pupil.status == "active"))
    if class_ids:
        families.update(db.session.execute(with_parents.where(Pupil.class_id.in_(class_ids))
                                           .group_by(Pupil.class_id)).all())
    if any(p.class_id is None for p in posts):
        families[None] = db.session.scalar(
            select(func.count(func.distinct(Pupil.id))).join(ParentLink, ParentLink.pupil_id == Pupil.id)
            .where(Pupil.school_id == school_id, Pupil.status == "active"))
    return seen, families


def record_seen(account, post_ids, now=None):
    """A parent's feed reports the posts it showed (one small POST after the page loads)."""
    if not account.is_parent or not post_ids:
        return 0
    now = now or utcnow()
    candidates = list(db.session.scalars(select(Post).where(Post.id.in_(post_ids[:50]),
                                                            Post.school_id == account.school_id)))
    from ..policies import can_view_post
    visible = [p.id for p in candidates if can_view_post(account, p)]
    if not visible:
        return 0
    already = set(db.session.scalars(select(PostSeen.post_id).where(PostSeen.user_id == account.id,
                                                                    PostSeen.post_id.in_(visible))))
    fresh = [pid for pid in visible if pid not in already]
    for pid in fresh:
        db.session.add(PostSeen(post_id=pid, user_id=account.id, seen_at=now))
    db.session.commit()
    return len(fresh)


def drafts_and_scheduled(account, class_ids, whole_school, now=None):
    """Posts not on the story yet that this teacher may finish: their own, and their classes'."""
    now = now or utcnow()
    place = Post.class_id.in_(class_ids) if class_ids else False
    if whole_school:
        place = or_(place, Post.class_id.is_(None))
    stmt = (select(Post).where(Post.school_id == account.school_id, place,
                               or_(Post.published_at.is_(None), Post.published_at > now))
            .options(joinedload(Post.school_class)).order_by(Post.created_at.desc()).limit(30))
    return list(db.session.scalars(stmt))


def photos_to_review(account, class_ids, whole_school=False):
    """Live posts with a photo of a child whose consent is no longer "yes": families other than the
    child's own no longer see it, and the teacher should decide what to do."""
    place = Post.class_id.in_(class_ids) if class_ids else False
    if whole_school:
        place = or_(place, Post.class_id.is_(None))
    stmt = (select(Post.id, func.count(func.distinct(MediaFile.id)))
            .join(MediaFile, MediaFile.post_id == Post.id)
            .join(MediaTag, MediaTag.media_id == MediaFile.id)
            .join(Pupil, Pupil.id == MediaTag.pupil_id)
            .where(Post.school_id == account.school_id, place, Post.published_at.is_not(None),
                   or_(Pupil.photo_consent.is_(None), Pupil.photo_consent != CONSENT_YES))
            .group_by(Post.id))
    counts = dict(db.session.execute(stmt).all())
    if not counts:
        return []
    posts = db.session.scalars(select(Post).where(Post.id.in_(counts)).options(joinedload(Post.school_class))
                               .order_by(Post.published_at.desc()))
    return [(post, counts[post.id]) for post in posts]


def on_photo_consent_changed(pupil, old, new):
    """Called after a consent is recorded. Display checks consent every time, so a withdrawal
    already hides the photos; this records which posts the teachers are asked to review."""
    if new == CONSENT_YES:
        return []
    post_ids = list(db.session.scalars(
        select(func.distinct(MediaFile.post_id)).join(MediaTag, MediaTag.media_id == MediaFile.id)
        .where(MediaTag.pupil_id == pupil.id, MediaFile.post_id.is_not(None))))
    if post_ids:
        audit("story.photos_hidden_by_consent", "pupil", pupil.id, school_id=pupil.school_id,
              detail={"posts": sorted(post_ids)}, commit=False)
        db.session.commit()
    return post_ids


# ---- one post, likes and comments -------------------------------------------------------------

def post_card(post, account):
    return decorate([post], account)[post.id]


def _target_filter(model, target):
    if isinstance(target, Post):
        return model.post_id == target.id
    return model.portfolio_item_id == target.id


def _target_fields(target):
    if isinstance(target, Post):
        return {"post_id": target.id}
    return {"portfolio_item_id": target.id}


def toggle_like(target, user):
    """One like per person: a second tap takes it back. Returns (liked, count)."""
    existing = db.session.scalar(select(Like).where(_target_filter(Like, target), Like.user_id == user.id))
    if existing is None:
        db.session.add(Like(user_id=user.id, **_target_fields(target)))
        notification_events.like_added(target, user)
    else:
        db.session.delete(existing)
    db.session.commit()
    count = db.session.scalar(select(func.count()).select_from(Like).where(_target_filter(Like, target)))
    return existing is None, count


def like_summary(target, user):
    count = db.session.scalar(select(func.count()).select_from(Like).where(_target_filter(Like, target)))
    liked = bool(not user.is_pupil and db.session.scalar(
        select(Like.id).where(_target_filter(Like, target), Like.user_id == user.id)))
    return liked, count


def add_comment(target, author, body, language=None, send_held=False):
    """Add a comment. With words on the school's lists it raises moderation.WordsFound, unless the
    writer confirmed (``send_held``): then it is stored held for a teacher's review."""
    body = (body or "").replace("\r\n", "\n").strip()
    if isinstance(target, Post) and not target.comments_enabled:
        raise StoryError(_("Comments are turned off for this post."), "body")
    if not body:
        raise StoryError(_("Write a comment first."), "body")
    if len(body) > MAX_COMMENT:
        raise StoryError(_("Comments can be up to %(num)d characters (this one has %(len)d).",
                           num=MAX_COMMENT, len=len(body)), "body")
    held = hold_words(author.school_id, body, send_held)
    comment = Comment(school_id=author.school_id, author_id=author.id, body=body,
                      language=language or writing_language(author), held_words=held,
                      held_at=utcnow() if held else None, **_target_fields(target))
    db.session.add(comment)
    db.session.flush()
    audit("story.comment_added", "comment", comment.id, actor=author, school_id=author.school_id,
          detail={**_target_fields(target), **({"held": True} if held else {})})
    notification_events.comment_added(comment, target)  # held: only when a reviewer releases it
    db.session.commit()
    return comment


def comments_for(target, account, school=None):
    stmt = (select(Comment).join(User, User.id == Comment.author_id)
            .where(_target_filter(Comment, target), visible_comments_clause(account, school))
            .options(joinedload(Comment.author)).order_by(Comment.created_at, Comment.id))
    return list(db.session.scalars(stmt))


def set_comment_hidden(comment, by, hidden, now=None):
    comment.hidden_at = (now or utcnow()) if hidden else None
    comment.hidden_by_id = by.id if hidden else None
    audit("story.comment_hidden" if hidden else "story.comment_shown", "comment", comment.id, actor=by,
          school_id=comment.school_id)
    db.session.commit()


def delete_comment(comment, by):
    audit("story.comment_deleted", "comment", comment.id, actor=by, school_id=comment.school_id,
          detail={"author_id": comment.author_id, **({"post_id": comment.post_id} if comment.post_id else
                                                      {"portfolio_item_id": comment.portfolio_item_id})})
    db.session.delete(comment)
    db.session.flush()
    forget_texts(comment.school_id, [(comment.body, comment.language)])
    db.session.commit()
