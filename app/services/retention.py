"""Retention periods, the retention run, and erasing a pupil (issue 8 part 6, SECURITY.md 28).

A school keeps each kind of data for a number of whole months. An empty School.retention_*_months
column means the documented default below; README.md "Retention" gives the same reasons.
"""
import calendar
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, exists, func, or_, select, update

from ..extensions import db
from ..models import (
    AccountAction,
    Comment,
    ContentReport,
    Conversation,
    EmailDelivery,
    Like,
    MediaFile,
    MediaTag,
    Message,
    Notification,
    ParentLink,
    Passcode,
    PhotoConsent,
    PointAward,
    PortfolioItem,
    Post,
    PostRevision,
    PostSeen,
    Pupil,
    ReadingLogEntry,
    School,
)
from ..models.base import utcnow
from . import media as media_service
from .audit import audit
from .translation import forget_texts


@dataclass(frozen=True)
class Period:
    kind: str
    column: str            # the School column that overrides the default
    default: int           # months
    minimum: int
    maximum: int
    label: object          # lazy string
    reason: object         # lazy string: why the default is what it is


# The order is the order of the settings page and the privacy page.
PERIODS = (
    Period("points", "retention_points_months", 24, 12, 120,
           _l("Points and reading log"),
           _l("Two years: the current and the previous school year, so a teacher can look back over "
              "a pupil's last year; older points say nothing useful about a child today.")),
    Period("messages", "retention_messages_months", 36, 12, 120,
           _l("Messages"),
           _l("Three years: a message between home and school can matter to a safeguarding concern "
              "or a complaint raised later; concerns themselves belong in the school's safeguarding "
              "records, not here.")),
    Period("portfolio", "retention_portfolio_months", 96, 12, 120,
           _l("Student Story (portfolios)"),
           _l("Eight years: the whole of a child's time at primary school, Nursery to Year 6, so a "
              "portfolio is kept until the pupil leaves; after that the period after leaving applies.")),
    Period("posts", "retention_posts_months", 24, 6, 120,
           _l("Class Story posts"),
           _l("Two years: the current and the previous school year; photos of children are not kept "
              "longer than families can reasonably expect.")),
    Period("after_leaving", "retention_after_leaving_months", 6, 1, 36,
           _l("After a pupil leaves"),
           _l("Six months: time over the summer and the first term at the new school for the family to "
              "download their child's data; then the pupil is erased from Hearth entirely. The "
              "school's own pupil record goes to the next school by the usual transfer, not from "
              "Hearth.")),
)
PERIODS_BY_KIND = {period.kind: period for period in PERIODS}

# Notifications and the record of each email sent for them are kept for a fixed 90 days, whatever
# the school's periods: long enough to look back on what someone was told and whether the email
# reached them (a bounce, a complaint), short because they only point at things kept elsewhere.
NOTIFICATION_DAYS = 90
KINDS = tuple(period.kind for period in PERIODS)

# Months per kind, each with its one-line reason.
DEFAULTS = {period.kind: {"months": period.default, "reason": period.reason} for period in PERIODS}


def effective_periods(school):
    """The months each kind is kept for at ``school``: its own setting or the default."""
    periods = {}
    for period in PERIODS:
        value = getattr(school, period.column)
        periods[period.kind] = value if value is not None else period.default
    return periods


def describe_periods(school):
    """For the settings and privacy pages: one dict per kind, in order.

    Keys: kind, label, months, default, is_default, reason, minimum, maximum.
    """
    months = effective_periods(school)
    return [
        {
            "kind": period.kind, "label": period.label, "months": months[period.kind],
            "default": period.default, "is_default": getattr(school, period.column) is None,
            "reason": period.reason, "minimum": period.minimum, "maximum": period.maximum,
        }
        for period in PERIODS
    ]


# ---- changing the periods -----------------------------------------------------------------------

class RetentionError(ValueError):
    """Periods that break the rules; ``errors`` maps each kind to the message for its field."""

    def __init__(self, errors):
        super().__init__("; ".join(str(message) for message in errors.values()))
        self.errors = errors


def set_periods(school, by, months):
    """Save the school's periods. ``months`` maps kinds to whole months, or None for the default."""
    errors = {}
    for kind, value in months.items():
        period = PERIODS_BY_KIND[kind]
        if value is not None and not period.minimum <= value <= period.maximum:
            errors[kind] = _("Enter a number of months from %(minimum)d to %(maximum)d, or leave it "
                             "empty for the default.", minimum=period.minimum, maximum=period.maximum)
    if errors:
        raise RetentionError(errors)
    changed = {}
    for kind, value in months.items():
        column = PERIODS_BY_KIND[kind].column
        if getattr(school, column) != value:
            changed[kind] = {"from": getattr(school, column), "to": value}
            setattr(school, column, value)
    if changed:
        audit("retention.periods_changed", "school", school.id, detail=changed, actor=by,
              school_id=school.id)
    db.session.commit()
    return changed


def months_before(moment, months):
    """The same day and time ``months`` calendar months earlier (the 31st becomes the month's last)."""
    year, month0 = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
    return moment.replace(year=year, month=month0 + 1, day=day)


def erasure_date(school, left_on):
    """The first day a pupil who left on ``left_on`` is erased by the retention run."""
    months = effective_periods(school)["after_leaving"]
    year, month0 = divmod(left_on.year * 12 + left_on.month - 1 + months, 12)
    day = min(left_on.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day) + timedelta(days=1)


def pupils_who_left(school):
    """The school's pupils who have left and are not erased yet, the longest gone first."""
    return db.session.scalars(select(Pupil).where(Pupil.school_id == school.id, Pupil.status == "left")
                              .order_by(Pupil.left_on, Pupil.id)).all()


# ---- the retention run --------------------------------------------------------------------------

BATCH = 500          # rows deleted per transaction: the site keeps working during a long run
PUPIL_BATCH = 20     # pupils erased per transaction (each brings all their rows)
_IN_CHUNK = 500      # ids per IN (...) list

# What the run and an erasure count, in the order they are reported.
COUNTED = ("pupils", "points", "reading_log", "messages", "conversations", "portfolio_items", "posts",
           "comments", "files", "photo_tags", "consents", "parent_links", "passcodes", "reports",
           "notifications", "email_deliveries")
COUNT_NAMES = {  # for the command line (English, like the other commands)
    "pupils": "pupils erased after leaving", "points": "point awards", "reading_log": "reading log entries",
    "messages": "messages", "conversations": "conversations", "portfolio_items": "portfolio items",
    "posts": "posts", "comments": "comments", "files": "media files (with their files on disk)",
    "photo_tags": "photo tags", "consents": "photo consent records", "parent_links": "parent links",
    "passcodes": "passcodes", "reports": "reports", "notifications": "notifications",
    "email_deliveries": "records of notification emails",
}


@dataclass(frozen=True)
class _Scope:
    """What the deletes need to know about the school (plain values: they survive each commit)."""
    school_id: int
    default_locale: str


def run(now=None, dry_run=False):
    """Delete what every school's periods say is due. Returns [(school id, school name, counts)].

    Each batch is committed on its own; a dry run does the same work in one transaction that is
    rolled back, so its counts are exact and nothing (no row, no file) goes."""
    now = now or utcnow()
    schools = db.session.execute(select(School.id, School.name).order_by(School.id)).all()
    results = []
    for school_id, name in schools:
        results.append((school_id, name, purge_school(db.session.get(School, school_id), now, dry_run)))
    return results


def purge_school(school, now=None, dry_run=False):
    """Delete what is due at one school; one audit entry with the counts (none for a dry run)."""
    now = now or utcnow()
    commit = db.session.flush if dry_run else db.session.commit
    scope = _Scope(school.id, school.default_locale)
    periods = effective_periods(school)
    cut = {kind: months_before(now, months) for kind, months in periods.items()}
    counts = Counter()
    sid = school.id

    left = select(Pupil.id).where(Pupil.school_id == sid, Pupil.status == "left",
                                  Pupil.left_on < cut["after_leaving"].date()).order_by(Pupil.id)
    _in_batches(left, lambda ids: _erase_pupils(scope, ids, counts), commit, PUPIL_BATCH)

    readings = select(ReadingLogEntry.id).where(ReadingLogEntry.school_id == sid,
                                                ReadingLogEntry.created_at < cut["points"])
    _in_batches(readings, lambda ids: _delete_reading_log(ids, counts), commit)
    awards = select(PointAward.id).where(PointAward.school_id == sid, PointAward.awarded_at < cut["points"])
    _in_batches(awards, lambda ids: _delete_point_awards(ids, counts), commit)

    messages = select(Message.id).where(Message.school_id == sid, Message.created_at < cut["messages"])
    _in_batches(messages, lambda ids: _delete_messages(scope, ids, counts), commit)
    empty = select(Conversation.id).where(
        Conversation.school_id == sid, Conversation.created_at < cut["messages"],
        ~exists().where(Message.conversation_id == Conversation.id))
    _in_batches(empty, lambda ids: _delete_conversations(ids, counts), commit)

    items = select(PortfolioItem.id).where(PortfolioItem.school_id == sid,
                                           PortfolioItem.created_at < cut["portfolio"])
    _in_batches(items, lambda ids: _delete_portfolio_items(scope, ids, counts), commit)

    posts = select(Post.id).where(Post.school_id == sid,
                                  func.coalesce(Post.published_at, Post.created_at) < cut["posts"])
    _in_batches(posts, lambda ids: _delete_posts(scope, ids, counts), commit)

    notified_before = now - timedelta(days=NOTIFICATION_DAYS)
    notes = select(Notification.id).where(Notification.school_id == sid, Notification.updated_at < notified_before)
    _in_batches(notes, lambda ids: _delete_notifications(ids, counts), commit)
    deliveries = select(EmailDelivery.id).where(EmailDelivery.school_id == sid,
                                                EmailDelivery.created_at < notified_before)
    _in_batches(deliveries, lambda ids: _delete_email_deliveries(ids, counts), commit)

    counts = {kind: counts[kind] for kind in COUNTED if counts[kind]}
    if dry_run:
        db.session.rollback()
    else:
        audit("retention.run", "school", sid, detail={"counts": counts, "periods": periods}, school_id=sid)
        db.session.commit()
    return counts


def _in_batches(ids_query, work, commit, size=BATCH):
    while True:
        ids = db.session.scalars(ids_query.limit(size)).all()
        if not ids:
            return
        work(ids)
        commit()


def _chunks(values, size=_IN_CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _ids(query):
    return db.session.scalars(query).all()


def _delete_where(model, column, ids):
    """DELETE ... WHERE column IN ids, in chunks; returns the rows deleted."""
    deleted = 0
    for chunk in _chunks(ids):
        result = db.session.execute(delete(model).where(column.in_(chunk))
                                    .execution_options(synchronize_session=False))
        deleted += result.rowcount
    return deleted


# ---- deleting each kind (ids of one school, one batch) ----------------------------------------------

_MEDIA_COLUMNS = (MediaFile.id, MediaFile.kind, MediaFile.school_id, MediaFile.storage_key,
                  MediaFile.content_type)


def _delete_media(condition):
    """Delete the MediaFile rows matching ``condition`` (tags included); files go on commit."""
    rows = db.session.execute(select(*_MEDIA_COLUMNS).where(condition)).all()
    if not rows:
        return 0
    ids = [row.id for row in rows]
    _delete_where(MediaTag, MediaTag.media_id, ids)
    _delete_where(MediaFile, MediaFile.id, ids)
    media_service.discard_files_on_commit(rows)
    return len(rows)


def _media_of(column, ids):
    deleted = 0
    for chunk in _chunks(ids):
        deleted += _delete_media(column.in_(chunk))
    return deleted


def _delete_reports(school_id, target_type, ids):
    """Reports about content that is being deleted: they would point at nothing."""
    deleted = 0
    for chunk in _chunks(ids):
        about = select(ContentReport.id).where(ContentReport.school_id == school_id,
                                               ContentReport.target_type == target_type,
                                               ContentReport.target_id.in_(chunk))
        deleted += _delete_report_rows(_ids(about))
    return deleted


def _delete_report_rows(report_ids):
    for chunk in _chunks(report_ids):
        db.session.execute(update(AccountAction).where(AccountAction.report_id.in_(chunk))
                           .values(report_id=None).execution_options(synchronize_session=False))
    return _delete_where(ContentReport, ContentReport.id, report_ids)


def _texts(query):
    return [(text, language) for text, language in db.session.execute(query)]


def _forget_texts(scope, texts):
    """Translations of deleted texts go too (translation.forget_texts decides which)."""
    forget_texts(scope.school_id, texts, scope.default_locale)


def _delete_where_school(model, school_id, column, values):
    for chunk in _chunks(values):
        db.session.execute(delete(model).where(model.school_id == school_id, column.in_(chunk))
                           .execution_options(synchronize_session=False))


def _delete_reading_log(ids, counts):
    counts["reading_log"] += _delete_where(ReadingLogEntry, ReadingLogEntry.id, ids)


def _delete_point_awards(ids, counts):
    for chunk in _chunks(ids):  # a reading log entry kept longer forgets the point it earned
        db.session.execute(update(ReadingLogEntry).where(ReadingLogEntry.award_id.in_(chunk))
                           .values(award_id=None).execution_options(synchronize_session=False))
    counts["points"] += _delete_where(PointAward, PointAward.id, ids)


def _delete_messages(scope, ids, counts):
    texts = []
    for chunk in _chunks(ids):
        texts += _texts(select(Message.body, Message.language).where(Message.id.in_(chunk)))
    counts["files"] += _media_of(MediaFile.message_id, ids)
    counts["reports"] += _delete_reports(scope.school_id, "message", ids)
    counts["messages"] += _delete_where(Message, Message.id, ids)
    _forget_texts(scope, texts)


def _delete_conversations(ids, counts):
    counts["conversations"] += _delete_where(Conversation, Conversation.id, ids)


def _delete_comments_on(scope, target, ids, counts):
    """The comments and likes on posts or portfolio items that are being deleted; returns their texts."""
    column, like_column = ((Comment.post_id, Like.post_id) if target == "post"
                           else (Comment.portfolio_item_id, Like.portfolio_item_id))
    comment_ids, texts = [], []
    for chunk in _chunks(ids):
        rows = db.session.execute(select(Comment.id, Comment.body, Comment.language)
                                  .where(column.in_(chunk))).all()
        comment_ids += [row.id for row in rows]
        texts += [(row.body, row.language) for row in rows]
    counts["reports"] += _delete_reports(scope.school_id, "comment", comment_ids)
    counts["comments"] += _delete_where(Comment, Comment.id, comment_ids)
    _delete_where(Like, like_column, ids)
    return texts


def _delete_portfolio_items(scope, ids, counts):
    texts = []
    for chunk in _chunks(ids):
        texts += _texts(select(PortfolioItem.body, PortfolioItem.language).where(PortfolioItem.id.in_(chunk)))
    texts += _delete_comments_on(scope, "portfolio_item", ids, counts)
    counts["files"] += _media_of(MediaFile.portfolio_item_id, ids)
    counts["reports"] += _delete_reports(scope.school_id, "portfolio_item", ids)
    counts["portfolio_items"] += _delete_where(PortfolioItem, PortfolioItem.id, ids)
    _forget_texts(scope, texts)


def _delete_posts(scope, ids, counts):
    texts = []
    for chunk in _chunks(ids):
        texts += _texts(select(Post.body, Post.language).where(Post.id.in_(chunk)))
        texts += _texts(select(PostRevision.body, Post.language).join(Post, Post.id == PostRevision.post_id)
                        .where(PostRevision.post_id.in_(chunk)))
        db.session.execute(update(PortfolioItem).where(PortfolioItem.home_learning_post_id.in_(chunk))
                           .values(home_learning_post_id=None).execution_options(synchronize_session=False))
    texts += _delete_comments_on(scope, "post", ids, counts)
    counts["files"] += _media_of(MediaFile.post_id, ids)
    counts["reports"] += _delete_reports(scope.school_id, "post", ids)
    _delete_where(PostRevision, PostRevision.post_id, ids)
    _delete_where(PostSeen, PostSeen.post_id, ids)
    counts["posts"] += _delete_where(Post, Post.id, ids)
    _forget_texts(scope, texts)


def _delete_notifications(ids, counts):
    counts["notifications"] += _delete_where(Notification, Notification.id, ids)


def _delete_email_deliveries(ids, counts):
    for chunk in _chunks(ids):  # a newer notification carried by an old digest forgets the email
        db.session.execute(update(Notification).where(Notification.delivery_id.in_(chunk))
                           .values(delivery_id=None).execution_options(synchronize_session=False))
    counts["email_deliveries"] += _delete_where(EmailDelivery, EmailDelivery.id, ids)


def _erase_pupils(scope, pupil_ids, counts):
    """Delete every row that refers to these pupils, and their files (see erase_pupil)."""
    conversations = _ids(select(Conversation.id).where(Conversation.pupil_id.in_(pupil_ids)))
    messages = set()
    for chunk in _chunks(conversations):
        messages.update(_ids(select(Message.id).where(Message.conversation_id.in_(chunk))))
    messages.update(_ids(select(Message.id).where(Message.sender_pupil_id.in_(pupil_ids))))
    _delete_messages(scope, sorted(messages), counts)
    _delete_conversations(conversations, counts)

    items = _ids(select(PortfolioItem.id).where(PortfolioItem.pupil_id.in_(pupil_ids)))
    _delete_portfolio_items(scope, items, counts)
    # Anything else they uploaded (a photo still being added, say).
    counts["files"] += _delete_media(MediaFile.uploaded_by_pupil_id.in_(pupil_ids))
    # Photos of them on class posts and on other pupils' stories stay, without the tag.
    counts["photo_tags"] += _delete_where(MediaTag, MediaTag.pupil_id, pupil_ids)
    counts["reports"] += _delete_report_rows(
        _ids(select(ContentReport.id).where(ContentReport.reporter_pupil_id.in_(pupil_ids))))

    _delete_reading_log(_ids(select(ReadingLogEntry.id).where(ReadingLogEntry.pupil_id.in_(pupil_ids))), counts)
    _delete_point_awards(_ids(select(PointAward.id).where(PointAward.pupil_id.in_(pupil_ids))), counts)
    counts["notifications"] += _delete_where(Notification, Notification.pupil_id, pupil_ids)
    counts["consents"] += _delete_where(PhotoConsent, PhotoConsent.pupil_id, pupil_ids)
    counts["parent_links"] += _delete_where(ParentLink, ParentLink.pupil_id, pupil_ids)
    counts["passcodes"] += _delete_where(Passcode, Passcode.pupil_id, pupil_ids)
    counts["pupils"] += _delete_where(Pupil, Pupil.id, pupil_ids)


# ---- erasing one pupil (the headteacher) ---------------------------------------------------------

def name_matches(pupil, typed):
    """The confirmation: the pupil's display name, ignoring case and extra spaces."""
    def norm(text):
        return " ".join(unicodedata.normalize("NFC", text or "").split()).casefold()
    return bool(typed) and norm(typed) == norm(pupil.display_name)


def erasure_summary(pupil):
    """What erasing ``pupil`` would delete: counts per kind (COUNTED), a few bounded queries."""
    pid = pupil.id
    conversations = select(Conversation.id).where(Conversation.pupil_id == pid)
    messages = select(Message.id).where(or_(Message.conversation_id.in_(conversations),
                                            Message.sender_pupil_id == pid))
    items = select(PortfolioItem.id).where(PortfolioItem.pupil_id == pid)
    doomed_media = or_(MediaFile.portfolio_item_id.in_(items), MediaFile.message_id.in_(messages),
                       MediaFile.uploaded_by_pupil_id == pid)

    def count(model, *conditions):
        return db.session.scalar(select(func.count()).select_from(model).where(*conditions))

    counts = {
        "pupils": 1,
        "points": count(PointAward, PointAward.pupil_id == pid),
        "reading_log": count(ReadingLogEntry, ReadingLogEntry.pupil_id == pid),
        "messages": count(Message, Message.id.in_(messages)),
        "conversations": count(Conversation, Conversation.pupil_id == pid),
        "portfolio_items": count(PortfolioItem, PortfolioItem.pupil_id == pid),
        "posts": 0,
        "comments": count(Comment, Comment.portfolio_item_id.in_(items)),
        "files": count(MediaFile, doomed_media),
        # Tags on photos that stay (class posts, other pupils' stories): only the tag goes.
        "photo_tags": count(MediaTag, MediaTag.pupil_id == pid,
                            MediaTag.media_id.not_in(select(MediaFile.id).where(doomed_media))),
        "consents": count(PhotoConsent, PhotoConsent.pupil_id == pid),
        "parent_links": count(ParentLink, ParentLink.pupil_id == pid),
        "passcodes": count(Passcode, Passcode.pupil_id == pid),
        "reports": count(ContentReport, ContentReport.reporter_pupil_id == pid),
        "notifications": count(Notification, Notification.pupil_id == pid),
        "email_deliveries": 0,
    }
    return counts


def erase_pupil(pupil, by):
    """Delete the pupil and every row that refers to them, files included. The audit entry keeps
    the pupil's id and the counts, nothing personal. Parent accounts stay, even with no child left."""
    scope = _Scope(pupil.school_id, pupil.school.default_locale)
    pupil_id = pupil.id
    counts = Counter()
    db.session.expunge(pupil)
    _erase_pupils(scope, [pupil_id], counts)
    counts = {kind: counts[kind] for kind in COUNTED if counts[kind]}
    audit("pupil.erased", "pupil", pupil_id, detail={"counts": counts}, actor=by, school_id=scope.school_id)
    db.session.commit()
    return counts
