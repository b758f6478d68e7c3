"""A family's own data (UK GDPR article 15; SECURITY.md 28): everything Hearth holds about a parent
and their children, as one zip.

The archive holds
- ``data.json``: one key per database table, each row a dict of its columns (times in ISO 8601
  UTC, ending in Z); secrets are left out (password hash, picture password, passcode hash, the
  media's storage key), each media row says where its file is in the archive;
- ``index.html``: the same, readable, in the reader's language with times in the school's time
  zone, opening offline from the unzipped folder (inline CSS, no script, nothing remote);
- ``media/``: the photos, videos and documents it refers to, named by their id (stable).

Two kinds of export:
- a parent's (``build_family_export``): their account and what concerns them (sign-ins,
  acknowledgements, comments, likes, reports, warnings, their conversations with staff, their
  notifications, notification choices and the emails sent to them), and for
  each linked child what the family sees of the child: points, photos on the Class Story the child
  is tagged in, the approved portfolio, home learning, reading, photo consent. Left out: the
  child's own conversations with staff and the reports the child made (a child's confidential
  channel to school; the head's export holds them), other families' comments and photos.
- the head's (``build_pupil_export``): everything about one pupil, flags included (pending and
  removed work, withdrawn and held messages, every conversation about the child, the audit
  entries about the child, the notifications that name the child). Parents appear there by name
  only: each downloads their own account.

Never another family's data: in a class post the child is tagged in, only the photos that show the
child and that this family may see (every other child in them has photo consent) are included;
comments are staff's and the family's own. Every table is read with one query whatever the number
of rows, so the export costs a fixed number of queries.
"""
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import current_app
from flask_babel import get_locale
from sqlalchemy import and_, or_, select

from ..extensions import db
from ..i18n import LANGUAGE_NAMES, text_direction
from ..models import (
    AccountAction,
    Acknowledgement,
    AuditEntry,
    Comment,
    ContentReport,
    Conversation,
    EmailDelivery,
    Like,
    MediaFile,
    MediaTag,
    Message,
    Notification,
    NotificationPreference,
    ParentLink,
    Passcode,
    PhotoConsent,
    PointAward,
    PointCategory,
    PolicyDocument,
    PortfolioItem,
    Post,
    PostSeen,
    Pupil,
    ReadingLogEntry,
    School,
    SchoolClass,
    Team,
    User,
)
from ..models.base import utcnow
from ..models.consent import CONSENT_YES
from ..models.messaging import KIND_PARENT
from ..models.people import STAFF_ROLES
from ..models.portfolio import ITEM_APPROVED
from .audit import audit
from .keepsake import write_archive
from .media import file_path
from .photo_consent import source_label

INDEX_TEMPLATE = "exports/archive_index.html"

# Columns never written to an archive: secrets, and the server's own file names.
LEFT_OUT = {
    "user": {"password_hash", "session_version"},
    "pupil": {"picture_password", "session_version"},
    "passcode": {"code_hash"},
    "media_file": {"storage_key"},
    "school_class": {"class_code"},
}
# What an archive says of a person it only mentions (a teacher, a co-parent): what the family sees.
MENTIONED_USER = ("id", "name", "role")
# Each kind of media: the variant copied into the archive.
ARCHIVE_VARIANT = {"image": "large", "video": "video", "document": "file"}


@dataclass
class Export:
    file: object  # an open temporary file, at its start; closing it deletes it
    size: int
    filename: str
    files: int


@dataclass
class ChildView:
    """What index.html shows under one child's heading."""
    pupil: Pupil
    awards: list = field(default_factory=list)
    posts: list = field(default_factory=list)  # [(post, [photos showing the child], [comments])]
    items: list = field(default_factory=list)  # [(item, [media], [comments])]
    home_learning: list = field(default_factory=list)  # [(item, task post)]
    conversations: list = field(default_factory=list)  # [(conversation, [messages])]
    consents: list = field(default_factory=list)
    reading: list = field(default_factory=list)
    reports: list = field(default_factory=list)
    audit: list = field(default_factory=list)


class Holdings:
    """The rows an export holds, per table, in the order they were found (each row once)."""

    def __init__(self):
        self.rows = defaultdict(dict)  # table name -> {primary key: ORM object}

    def add(self, objects):
        objects = list(objects)
        for obj in objects:
            mapper = obj.__mapper__
            key = tuple(getattr(obj, c.key) for c in mapper.primary_key)
            self.rows[mapper.local_table.name].setdefault(key, obj)
        return objects

    def of(self, model):
        return list(self.rows.get(model.__table__.name, {}).values())

    def ids(self, model):
        return [obj.id for obj in self.of(model)]


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat() + "Z"  # every time in the database is naive UTC
    if isinstance(value, (date, time)):
        return value.isoformat()
    return value


def row_of(obj, only=None):
    """A row as a dict of its columns (by column name), secrets left out."""
    table = obj.__table__
    left_out = LEFT_OUT.get(table.name, ())
    row = {}
    for prop in obj.__mapper__.column_attrs:
        column = prop.columns[0]
        if column.table is not table or column.name in left_out or (only and column.name not in only):
            continue
        row[column.name] = _json_value(getattr(obj, prop.key))
    return row


def _user_columns(table):
    return [c for c in table.columns if any(fk.column.table.name == "user" for fk in c.foreign_keys)]


# ---- gathering -----------------------------------------------------------------------------------

def _scalars(stmt):
    return list(db.session.scalars(stmt))


def _shows_only_allowed(media, own_ids, consent):
    """Included in a family's archive: the photo shows one of the family's children, and every other
    child in it has photo consent (so the family could see it on the Class Story)."""
    tagged = media.tagged_pupil_ids
    return bool(tagged & own_ids) and all(pid in own_ids or consent.get(pid) == CONSENT_YES for pid in tagged)


def gather(pupils, parent=None, complete=False, now=None):
    """Every row the archive holds: a parent's (with their linked ``pupils``) or, ``complete``, the
    head's export of the pupils (every row about them, flags kept)."""
    now = now or utcnow()
    held = Holdings()
    pupil_ids = [p.id for p in pupils]
    own_ids = set(pupil_ids)
    school = parent.school if parent is not None else pupils[0].school
    held.add([school])
    held.add(pupils)
    class_ids = {p.class_id for p in pupils if p.class_id}
    team_ids = {p.team_id for p in pupils if p.team_id}
    if class_ids:
        held.add(_scalars(select(SchoolClass).where(SchoolClass.id.in_(class_ids))))
    if team_ids:
        held.add(_scalars(select(Team).where(Team.id.in_(team_ids))))

    # The family: who linked to these children (comments by them are the family's own).
    links = _scalars(select(ParentLink).where(ParentLink.pupil_id.in_(pupil_ids))) if pupil_ids else []
    family = {link.parent_id for link in links}
    if parent is not None:
        family.add(parent.id)
        held.add([parent])
        held.add(_scalars(select(ParentLink).where(ParentLink.parent_id == parent.id)))
        held.add(_scalars(select(Passcode).where(Passcode.used_by_id == parent.id)))
        acks = held.add(_scalars(select(Acknowledgement).where(Acknowledgement.user_id == parent.id)))
        if acks:
            held.add(_scalars(select(PolicyDocument).where(PolicyDocument.id.in_({a.document_id for a in acks}))))
        held.add(_scalars(select(AccountAction).where(AccountAction.user_id == parent.id)))
        held.add(_scalars(select(ContentReport).where(ContentReport.reporter_user_id == parent.id)))
        held.add(_scalars(select(Like).where(Like.user_id == parent.id)))
        held.add(_scalars(select(PostSeen).where(PostSeen.user_id == parent.id)))
        held.add(_scalars(select(Comment).where(Comment.author_id == parent.id)))
        held.add(_scalars(select(ReadingLogEntry).where(ReadingLogEntry.parent_id == parent.id)))
        held.add(_scalars(select(MediaFile).where(MediaFile.uploaded_by_id == parent.id)))
        held.add(_scalars(select(AuditEntry).where(AuditEntry.actor_user_id == parent.id)))
        # Notifications: what the parent was told, their choices, and each email sent to them.
        held.add(_scalars(select(Notification).where(Notification.user_id == parent.id)))
        held.add(_scalars(select(NotificationPreference).where(NotificationPreference.user_id == parent.id)))
        held.add(_scalars(select(EmailDelivery).where(EmailDelivery.user_id == parent.id)))
        conversations = held.add(_scalars(select(Conversation).where(
            Conversation.parent_id == parent.id, Conversation.kind == KIND_PARENT)))
    else:
        held.add(links)
        held.add(_scalars(select(Passcode).where(Passcode.pupil_id.in_(pupil_ids))))
        held.add(_scalars(select(ContentReport).where(ContentReport.reporter_pupil_id.in_(pupil_ids))))
        held.add(_scalars(select(AuditEntry).where(
            AuditEntry.school_id == school.id, AuditEntry.target_type == "pupil",
            AuditEntry.target_id.in_(pupil_ids))))
        conversations = held.add(_scalars(select(Conversation).where(Conversation.pupil_id.in_(pupil_ids))))
        held.add(_scalars(select(Notification).where(Notification.pupil_id.in_(pupil_ids))))

    if pupil_ids:
        held.add(_scalars(select(AuditEntry).where(AuditEntry.school_id == school.id,
                                                   AuditEntry.actor_pupil_id.in_(pupil_ids))))
        held.add(_scalars(select(PhotoConsent).where(PhotoConsent.pupil_id.in_(pupil_ids))))
        awards = held.add(_scalars(select(PointAward).where(PointAward.pupil_id.in_(pupil_ids))))
        if awards:
            held.add(_scalars(select(PointCategory).where(PointCategory.id.in_({a.category_id for a in awards}))))
        held.add(_scalars(select(ReadingLogEntry).where(ReadingLogEntry.pupil_id.in_(pupil_ids))))
        items_stmt = select(PortfolioItem).where(PortfolioItem.pupil_id.in_(pupil_ids))
        if not complete:
            items_stmt = items_stmt.where(PortfolioItem.status == ITEM_APPROVED, PortfolioItem.shown_to_others())
        items = held.add(_scalars(items_stmt))
        if items:
            held.add(_scalars(select(MediaFile).where(MediaFile.portfolio_item_id.in_([i.id for i in items]))))
        _class_photos(held, own_ids, complete, now)
        task_ids = {i.home_learning_post_id for i in items if i.home_learning_post_id}
        if task_ids:
            held.add(_scalars(select(Post).where(Post.id.in_(task_ids))))

    _messages(held, conversations, parent, complete)
    _comments(held, family, complete)
    return held


def _class_photos(held, own_ids, complete, now):
    """The photos on the Class Story the children are tagged in, with their posts: for a family only
    the posts they can see (published, not removed) and the photos they can see."""
    stmt = (select(MediaFile).join(MediaTag, MediaTag.media_id == MediaFile.id)
            .where(MediaTag.pupil_id.in_(own_ids), MediaFile.post_id.is_not(None)))
    if not complete:
        stmt = stmt.join(Post, Post.id == MediaFile.post_id).where(
            Post.published_at.is_not(None), Post.published_at <= now, Post.shown_to_others())
    photos = list(db.session.scalars(stmt).unique())
    others = {pid for m in photos for pid in m.tagged_pupil_ids} - own_ids
    consent = dict(db.session.execute(select(Pupil.id, Pupil.photo_consent).where(Pupil.id.in_(others))).all()) \
        if others else {}
    photos = [m for m in photos if complete or _shows_only_allowed(m, own_ids, consent)]
    held.add(photos)
    held.add(tag for m in photos for tag in m.tags if tag.pupil_id in own_ids)
    if photos:
        held.add(_scalars(select(Post).where(Post.id.in_({m.post_id for m in photos}))))
    # Tags on the children's other media (portfolio photos) are the children's own.
    held.add(tag for m in held.of(MediaFile) for tag in m.tags if tag.pupil_id in own_ids)


def _messages(held, conversations, parent, complete):
    """The messages of these conversations: all of them for the head; for a parent, their own and
    what staff sent that is shown to them (not withdrawn, removed or held)."""
    if not conversations:
        return
    stmt = select(Message).where(Message.conversation_id.in_([c.id for c in conversations]))
    if not complete:
        stmt = stmt.where(or_(Message.sender_user_id == parent.id,
                              and_(Message.shown_to_others(), Message.hidden_at.is_(None))))
    messages = held.add(_scalars(stmt.order_by(Message.id)))
    held.add(media for m in messages for media in m.attachments)


def _comments(held, family, complete):
    """Comments on the posts and items held, by staff and the family only (never other parents'):
    those shown to readers, or every one for the head."""
    post_ids, item_ids = held.ids(Post), held.ids(PortfolioItem)
    if not post_ids and not item_ids:
        return
    targets = []
    if post_ids:
        targets.append(Comment.post_id.in_(post_ids))
    if item_ids:
        targets.append(Comment.portfolio_item_id.in_(item_ids))
    stmt = (select(Comment).join(User, User.id == Comment.author_id)
            .where(or_(*targets), or_(User.role.in_(STAFF_ROLES), Comment.author_id.in_(family or [0]))))
    if not complete:
        stmt = stmt.where(Comment.shown_to_others())
    held.add(_scalars(stmt.order_by(Comment.created_at, Comment.id)))


# ---- the archive ---------------------------------------------------------------------------------

def archive_path(media):
    """media/photo-12.webp, media/video-3.mp4, media/document-7.pdf: stable, by the media's id."""
    variant = ARCHIVE_VARIANT[media.kind]
    suffix = file_path(media, variant).suffix
    kind = {"image": "photo"}.get(media.kind, media.kind)
    return f"media/{kind}-{media.id}{suffix}"


def _files(held):
    """{media id: archive path} for the media held whose file is on disk."""
    found = {}
    for media in held.of(MediaFile):
        if media.kind in ARCHIVE_VARIANT and file_path(media, ARCHIVE_VARIANT[media.kind]).is_file():
            found[media.id] = archive_path(media)
        elif media.kind in ARCHIVE_VARIANT:
            current_app.logger.warning("export: the file of media %s is missing on disk", media.id)
    return found


def tables_of(held, files, parent=None):
    """data.json: {table: [row, ...]}. The people the rows mention are in ``user`` by name and role;
    the parent downloading is there in full (but for the password hash)."""
    tables = {}
    mentioned = set()
    for name, objects in sorted(held.rows.items()):
        columns = _user_columns(next(iter(objects.values())).__table__)
        rows = []
        for _key, obj in sorted(objects.items(), key=lambda pair: pair[0]):
            row = row_of(obj)
            if name == "media_file":
                row["archive_path"] = files.get(obj.id)
            mentioned.update(row[c.name] for c in columns if row.get(c.name))
            rows.append(row)
        if name != "user":
            tables[name] = rows
    mentioned.update(e.actor_user_id for e in held.of(AuditEntry) if e.actor_user_id)  # no foreign key
    if parent is not None:
        mentioned.discard(parent.id)
    people = [row_of(parent)] if parent is not None else []
    if mentioned:
        people += [row_of(u, only=MENTIONED_USER)
                   for u in _scalars(select(User).where(User.id.in_(mentioned)).order_by(User.id))]
    tables["user"] = people
    return tables


def _when_formatter(school):
    tz = ZoneInfo(school.timezone)
    locale = get_locale() or "en_GB"

    def when(value, style="medium", day_only=False):
        """A naive UTC time in the school's time zone (or its day there); a date as it is."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.replace(tzinfo=ZoneInfo("UTC"))
            if not day_only:
                return format_datetime(value, style, tzinfo=tz, locale=locale)
            value = value.astimezone(tz).date()
        return format_date(value, style, locale=locale)
    return when


def views_of(held, pupils):
    """The index's sections per child, from the rows held (no further queries)."""
    views = {p.id: ChildView(p) for p in pupils}
    media_by_post, media_by_item, media_by_message = defaultdict(list), defaultdict(list), defaultdict(list)
    for media in sorted(held.of(MediaFile), key=lambda m: (m.position, m.id)):
        if media.post_id:
            media_by_post[media.post_id].append(media)
        if media.portfolio_item_id:
            media_by_item[media.portfolio_item_id].append(media)
        if media.message_id:
            media_by_message[media.message_id].append(media)
    comments_on = defaultdict(list)
    for comment in held.of(Comment):
        target = ("post", comment.post_id) if comment.post_id else ("item", comment.portfolio_item_id)
        comments_on[target].append(comment)
    posts = {post.id: post for post in held.of(Post)}
    for post_id, photos in media_by_post.items():
        for pid, view in views.items():
            showing = [m for m in photos if pid in m.tagged_pupil_ids]
            if showing:
                view.posts.append((posts[post_id], showing, comments_on[("post", post_id)]))
    for view in views.values():
        view.posts.sort(key=lambda entry: (entry[0].published_at or entry[0].created_at, entry[0].id))
    for award in sorted(held.of(PointAward), key=lambda a: (a.awarded_at, a.id)):
        views[award.pupil_id].awards.append(award)
    for item in sorted(held.of(PortfolioItem), key=lambda i: (i.created_at, i.id)):
        views[item.pupil_id].items.append((item, media_by_item[item.id], comments_on[("item", item.id)]))
        if item.home_learning_post_id in posts:
            views[item.pupil_id].home_learning.append((item, posts[item.home_learning_post_id]))
    messages = defaultdict(list)
    for message in held.of(Message):
        messages[message.conversation_id].append((message, media_by_message[message.id]))
    for conversation in sorted(held.of(Conversation), key=lambda c: (c.created_at, c.id)):
        if conversation.pupil_id in views:
            views[conversation.pupil_id].conversations.append((conversation, messages[conversation.id]))
    for consent in sorted(held.of(PhotoConsent), key=lambda c: (c.recorded_at, c.id)):
        views[consent.pupil_id].consents.append(consent)
    for entry in sorted(held.of(ReadingLogEntry), key=lambda e: (e.read_on, e.id)):
        if entry.pupil_id in views:
            views[entry.pupil_id].reading.append(entry)
    for report in held.of(ContentReport):
        if report.reporter_pupil_id in views:
            views[report.reporter_pupil_id].reports.append(report)
    for entry in sorted(held.of(AuditEntry), key=lambda e: (e.at, e.id)):
        pid = entry.actor_pupil_id or (entry.target_id if entry.target_type == "pupil" else None)
        if pid in views:
            views[pid].audit.append(entry)
    return [views[p.id] for p in pupils]


def _names(held, tables):
    return {row["id"]: row["name"] for row in tables["user"]}


def render_index(held, tables, files, pupils, parent, made_at, by):
    school = held.of(School)[0]
    locale = str(get_locale() or "en")
    template = current_app.jinja_env.get_template(INDEX_TEMPLATE)
    categories = {c.id: c for c in held.of(PointCategory)}
    documents = {d.id: d for d in held.of(PolicyDocument)}
    account = None
    if parent is not None:
        audit_rows = held.of(AuditEntry)
        account = {
            "user": parent,
            "language": LANGUAGE_NAMES.get(parent.locale or "", parent.locale or ""),
            "sign_ins": sorted((e.at for e in audit_rows if e.action == "auth.sign_in"
                                and e.actor_user_id == parent.id), reverse=True),
            "acknowledgements": sorted(((a, documents.get(a.document_id)) for a in held.of(Acknowledgement)),
                                       key=lambda pair: pair[0].acknowledged_at),
            "reports": [r for r in held.of(ContentReport) if r.reporter_user_id == parent.id],
            "actions": sorted(held.of(AccountAction), key=lambda a: a.created_at),
            "comments": sorted((c for c in held.of(Comment) if c.author_id == parent.id),
                               key=lambda c: (c.created_at, c.id)),
            "likes": sorted(held.of(Like), key=lambda like: like.created_at),
        }
    return template.render(
        school=school, children=views_of(held, pupils), account=account, parent=parent, by=by,
        names=_names(held, tables), categories=categories, files=files, made_at=made_at,
        when=_when_formatter(school), source_label=source_label, lang=locale.replace("_", "-"),
        text_dir=text_direction(locale))


def _archive_name(*parts):
    stem = re.sub(r"[\W_]+", "-", " ".join(parts)).strip("-") or "data"
    return f"hearth-{stem}.zip"


def _build(pupils, parent, by, complete, now):
    now = now or utcnow()
    held = gather(pupils, parent=parent, complete=complete, now=now)
    files = _files(held)
    tables = tables_of(held, files, parent=parent)
    data = json.dumps(tables, ensure_ascii=False, indent=1, sort_keys=True)
    index = render_index(held, tables, files, pupils, parent, now, by)
    media = {m.id: m for m in held.of(MediaFile)}
    out, size, written = write_archive(
        "hearth-export-", [("index.html", index), ("data.json", data)],
        [(name, media[mid], ARCHIVE_VARIANT[media[mid].kind]) for mid, name in sorted(files.items())])
    return out, size, written


def build_family_export(parent, now=None):
    """A parent's archive: their account and their linked children. Audited as export.family."""
    pupils = _scalars(select(Pupil).join(ParentLink, ParentLink.pupil_id == Pupil.id)
                      .where(ParentLink.parent_id == parent.id, Pupil.school_id == parent.school_id)
                      .order_by(Pupil.display_name, Pupil.id))
    return _finish(pupils, parent, parent, False, "export.family", "user", parent.id, now,
                   _archive_name(parent.name, (now or utcnow()).date().isoformat()))


def build_child_export(parent, pupil, now=None):
    """A parent's archive with one of their children only (the route checked the link)."""
    return _finish([pupil], parent, parent, False, "export.family", "pupil", pupil.id, now,
                   _archive_name(pupil.display_name, (now or utcnow()).date().isoformat()))


def build_pupil_export(pupil, by, now=None):
    """The head's archive of one pupil: every row about the child. Audited as export.pupil."""
    return _finish([pupil], None, by, True, "export.pupil", "pupil", pupil.id, now,
                   _archive_name(pupil.display_name, "school-record", (now or utcnow()).date().isoformat()))


def _finish(pupils, parent, by, complete, action, target_type, target_id, now, filename):
    out, size, written = _build(pupils, parent, by, complete, now)
    audit(action, target_type, target_id, actor=by, school_id=by.school_id,
          detail={"pupils": [p.id for p in pupils], "files": len(written), "bytes": size})
    db.session.commit()
    return Export(out, size, filename, len(written))
