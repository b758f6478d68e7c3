"""Private conversations between staff and families or pupils.

Who may write to whom:
- a parent to the teachers of a linked child's class, about that child;
- a member of staff to the parents of a pupil they teach (senior leaders: any pupil);
- a pupil and their class's teachers, only while the school has messaging on for the pupil's year
  group (it is off unless switched on).

Messages are never deleted. A sender may hide a message within a minute of sending it; the record
keeps it. Each side's unread count is one indexed query over the conversations.
"""
import re
import secrets
import unicodedata
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    Conversation,
    MediaFile,
    Message,
    ParentLink,
    Pupil,
    PupilMessagingYear,
    SchoolClass,
    User,
    class_teachers,
)
from ..models.base import utcnow
from ..models.messaging import KIND_PARENT, KIND_PUPIL
from . import notification_events
from .audit import audit
from .moderation import hold_words

MAX_BODY = 5000
MAX_ATTACHMENTS = 5
HIDE_WINDOW = timedelta(minutes=1)
PAGE = 30


class MessageError(ValueError):
    """A rule was broken; the message is for the user, in their language."""

    def __init__(self, message, field="body"):
        super().__init__(message)
        self.message = message
        self.field = field


# ---- who may write to whom -------------------------------------------------------------------------

def pupil_messaging_years(school_id):
    return set(db.session.scalars(select(PupilMessagingYear.year_group)
                                  .where(PupilMessagingYear.school_id == school_id)))


def pupil_messaging_on(pupil):
    if pupil is None or pupil.status != "active" or pupil.school_class is None:
        return False
    return pupil_messaging_on_for_class(pupil.school_class)


def set_pupil_messaging_years(school, years, by):
    years = {int(y) for y in years}
    current = pupil_messaging_years(school.id)
    for year in current - years:
        db.session.delete(db.session.get(PupilMessagingYear, (school.id, year)))
    for year in years - current:
        db.session.add(PupilMessagingYear(school_id=school.id, year_group=year))
    audit("messaging.pupil_years", target_type="school", target_id=school.id,
          detail={"years": sorted(years)}, actor=by)
    db.session.commit()


def teaches_pupil(staff, pupil):
    return bool(pupil.class_id and any(c.id == pupil.class_id for c in staff.classes))


def parent_linked(parent, pupil):
    return db.session.scalar(select(ParentLink.id).where(
        ParentLink.parent_id == parent.id, ParentLink.pupil_id == pupil.id)) is not None


def teachers_of(pupil):
    """The active staff who teach the pupil's class, by name."""
    if not pupil.class_id:
        return []
    return list(db.session.scalars(
        select(User).join(class_teachers, class_teachers.c.user_id == User.id)
        .where(class_teachers.c.class_id == pupil.class_id, User.status == "active")
        .order_by(User.name)))


def may_write(staff, pupil, parent=None):
    """May this conversation (staff with the pupil's parent, or with the pupil) take a new message?"""
    if staff is None or pupil is None or not staff.is_staff or staff.status != "active":
        return False
    if pupil.school_id != staff.school_id or pupil.status != "active":
        return False
    if not (staff.is_senior or teaches_pupil(staff, pupil)):
        return False
    if parent is None:
        return pupil_messaging_on(pupil)
    return (parent.is_parent and parent.status == "active" and parent.school_id == staff.school_id
            and parent_linked(parent, pupil))


def pair_key(kind, staff_id, pupil_id, parent_id=None):
    if kind == KIND_PARENT:
        return f"parent:{staff_id}:{parent_id}:{pupil_id}"
    return f"pupil:{staff_id}:{pupil_id}"


def find_conversation(staff, pupil, parent=None):
    kind = KIND_PARENT if parent is not None else KIND_PUPIL
    key = pair_key(kind, staff.id, pupil.id, parent.id if parent is not None else None)
    return db.session.scalar(select(Conversation).where(Conversation.pair_key == key))


def _find_or_create(staff, pupil, parent=None):
    found = find_conversation(staff, pupil, parent)
    if found is not None:
        return found
    kind = KIND_PARENT if parent is not None else KIND_PUPIL
    conversation = Conversation(
        school_id=staff.school_id, kind=kind, staff_id=staff.id, pupil_id=pupil.id,
        parent_id=parent.id if parent is not None else None,
        pair_key=pair_key(kind, staff.id, pupil.id, parent.id if parent is not None else None))
    db.session.add(conversation)
    db.session.flush()
    return conversation


def is_participant(account, conversation):
    if not account.is_authenticated or account.school_id != conversation.school_id:
        return False
    if account.is_pupil:
        return conversation.kind == KIND_PUPIL and conversation.pupil_id == account.id
    if account.is_staff:
        return conversation.staff_id == account.id
    return (conversation.kind == KIND_PARENT and conversation.parent_id == account.id
            and parent_linked(account, conversation.pupil))


def still_open(conversation):
    """Can the conversation take a new message today (links, classes and settings change)?"""
    return may_write(conversation.staff, conversation.pupil,
                     conversation.parent if conversation.kind == KIND_PARENT else None)


# ---- what a message may say -------------------------------------------------------------------------

def clean_body(text):
    """Trim, normalise line endings, drop control characters (but keep line breaks)."""
    text = unicodedata.normalize("NFC", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch)[0] != "C")
    return re.sub(r"\n{4,}", "\n\n\n", text).strip()


def check_body(body, attachments=()):
    if not body and not attachments:
        raise MessageError(_("Write a message first."))
    if len(body) > MAX_BODY:
        raise MessageError(_("A message can be up to %(limit)s characters; this one has %(count)s. "
                             "Shorten it, or send it in two parts.", limit=f"{MAX_BODY:,}",
                             count=f"{len(body):,}"))
    if len(attachments) > MAX_ATTACHMENTS:
        raise MessageError(_("A message can carry up to %(limit)s files.", limit=MAX_ATTACHMENTS),
                           field="files")


# Words families use when a child will be absent, in the languages of the school's families. They
# only prompt a reminder to call the office as well; nothing is blocked.
ABSENCE_PATTERNS = [re.compile(p, re.IGNORECASE) for p in (
    r"\b(off|home)\s+(sick|ill|poorly|unwell)\b", r"\b(is|are|was|feels?|feeling)\s+(sick|ill|poorly|unwell)\b",
    r"\b(won'?t|will\s+not|isn'?t|is\s+not|not)\s+(be\s+)?(coming|in|at\s+school|attending)\b",
    r"\babsen(t|ce)\b", r"\b(doctor'?s?|dentist'?s?|hospital)\s+appointment\b", r"\bstay(ing)?\s+(at\s+)?home\b",
    r"\bvomit|\bfever\b|\btemperature\b|\bchicken\s*pox\b|\bsickness\b|\bd\s*&\s*v\b",
    r"\bchor[aey]\b|\bnie\s+(przyjdzie|będzie)\b|\bnieobecn",                    # Polish
    r"\bbolnav[ăa]?\b|\bnu\s+(va\s+)?ven[ie]\b|\babsent[ăa]?\b",                  # Romanian
    r"\bdoente\b|\bnão\s+vai\s+(à|a)\s+escola\b|\bfalt(a|ar)\b",                   # Portuguese
    r"\benferm[oa]\b|\bno\s+(irá|va\s+a\s+ir|vendrá)\b|\bausente\b",               # Spanish
    r"\bserga\b|\bneateis\b|\bnebus\b",                                           # Lithuanian
    r"\bjiran\b|\bma\s+iman\s+doon",                                               # Somali
    r"хвор|не\s+прийде|не\s+буде\s+в\s+школі|відсутн",                             # Ukrainian
    r"مريض|لن\s+يحضر|لن\s+تحضر|غائب|غياب",                                         # Arabic
    r"بیمار|نہیں\s+آ|غیر\s+حاضر|چھٹی",                                             # Urdu
    r"অসুস্থ|আসবে\s+না|অনুপস্থিত",                                                  # Bengali
    r"ਬਿਮਾਰ|ਨਹੀਂ\s+ਆ|ਗੈਰਹਾਜ਼ਰ",                                                     # Panjabi
    r"બીમાર|નહીં\s+આવ|ગેરહાજર",                                                    # Gujarati
)]


def looks_like_absence(text):
    return any(p.search(text or "") for p in ABSENCE_PATTERNS)


# ---- sending ----------------------------------------------------------------------------------------

def _staff_in_quiet_hours(staff, now):
    from .working_time import quiet_notice
    notice = quiet_notice(staff, now)
    return bool(notice and (notice.in_quiet or notice.away))


def _add(conversation, sender, body, media_list, language, now, broadcast_key=None, request_key=None,
         held=None):
    from_staff = not sender.is_pupil and sender.is_staff
    message = Message(
        school_id=conversation.school_id, conversation_id=conversation.id, from_staff=from_staff,
        sender_user_id=None if sender.is_pupil else sender.id,
        sender_pupil_id=sender.id if sender.is_pupil else None,
        body=body, language=language, created_at=now, broadcast_key=broadcast_key, request_key=request_key,
        in_quiet_hours=False if from_staff else _staff_in_quiet_hours(conversation.staff, now),
        held_words=held, held_at=now if held else None)
    db.session.add(message)
    db.session.flush()
    for position, media in enumerate(media_list):
        media.message_id = message.id
        media.position = position
    if held:
        # Held for review (issue 8): the other side is not told, nothing is unread or live, the
        # inbox does not move; moderation.decide delivers it if a reviewer releases it.
        return message
    conversation.last_message_at = now
    conversation.last_message_id = message.id
    # Writing in a conversation means having read it: the sender's side is read up to here.
    if from_staff:
        conversation.last_to_other_id = message.id
        conversation.staff_read_id, conversation.staff_read_at = message.id, now
    else:
        conversation.last_to_staff_id = message.id
        conversation.other_read_id, conversation.other_read_at = message.id, now
    return message


def _sent_with_key(sender, request_key):
    if not request_key:
        return None
    column = Message.sender_pupil_id if sender.is_pupil else Message.sender_user_id
    return db.session.scalar(select(Message).where(column == sender.id, Message.request_key == request_key))


def send(sender, *, staff, pupil, parent=None, body, media_list=(), language=None, now=None, request_key=None,
         send_held=False):
    """Send one message, starting the conversation if there is none yet. Returns the message.

    ``sender`` is one of the two sides: the member of staff, or the parent / the pupil. A request
    key already used by this sender returns the message first sent with it (a double tap). Words on
    the school's lists raise moderation.WordsFound unless the sender confirmed (``send_held``):
    then the message is stored held for review."""
    now = now or utcnow()
    request_key = (request_key or "")[:64] or None
    first = _sent_with_key(sender, request_key)
    if first is not None:
        return first
    if not may_write(staff, pupil, parent):
        raise MessageError(_("This conversation is closed: you can read it, but not write in it."))
    if sender.is_pupil:
        if parent is not None or sender.id != pupil.id:
            raise MessageError(_("This conversation is closed: you can read it, but not write in it."))
    elif sender.id not in (staff.id, parent.id if parent is not None else None):
        raise MessageError(_("This conversation is closed: you can read it, but not write in it."))
    body = clean_body(body)
    check_body(body, media_list)
    _check_attachments(sender, media_list)
    held = hold_words(staff.school_id, body, send_held)
    try:
        conversation = _find_or_create(staff, pupil, parent)
        message = _add(conversation, sender, body, list(media_list), language, now, request_key=request_key,
                       held=held)
        audit("message.send", target_type="message", target_id=message.id,
              detail={"conversation": conversation.id, **({"held": True} if held else {})}, actor=sender)
        if not held:  # a held message tells no one until a reviewer releases it
            notification_events.message_sent(conversation, message, now)
            notification_events.conversation_read(sender, conversation, now)  # writing is reading
        db.session.commit()
    except IntegrityError:  # the same form arrived twice at the same moment: keep the first
        db.session.rollback()
        first = _sent_with_key(sender, request_key)
        if first is None:
            raise
        return first
    if not held:
        _prefetch(conversation, [message], [_reader_language(conversation, sender)])
    return message


def _reader_language(conversation, sender):
    """The language the other side reads Hearth in (a pupil: the school's)."""
    if sender.is_staff:
        reader = conversation.parent if conversation.kind == KIND_PARENT else None
    else:
        reader = conversation.staff
    return getattr(reader, "locale", None) or conversation.pupil.school.default_locale


def _prefetch(conversation, messages, targets):
    """Prepare the translations the readers will want (in the background; never raises)."""
    from .translation import prefetch
    texts = [(m.body, m.language) for m in messages if m.body]
    if texts:
        prefetch(conversation.pupil.school, texts, targets)


def reply(sender, conversation, *, body, media_list=(), language=None, now=None, send_held=False):
    return send(sender, staff=conversation.staff, pupil=conversation.pupil,
                parent=conversation.parent if conversation.kind == KIND_PARENT else None,
                body=body, media_list=media_list, language=language, now=now, send_held=send_held)


def broadcast(staff, school_class, pupil_ids, *, body, language=None, now=None, request_key=None,
              send_held=False):
    """One message to the parents of several pupils of a class: each parent receives it in their own
    private conversation about their child. Returns how many conversations it went to; the same
    request key again (a double tap) sends nothing more and returns the first count."""
    now = now or utcnow()
    key = (request_key or "")[:32] or secrets.token_hex(8)
    already = db.session.scalar(select(func.count()).select_from(Message).where(
        Message.sender_user_id == staff.id, Message.broadcast_key == key))
    if already:
        return already
    body = clean_body(body)
    check_body(body)
    if not pupil_ids:
        raise MessageError(_("Choose at least one family."), field="pupils")
    held = hold_words(staff.school_id, body, send_held)
    pupils = list(db.session.scalars(select(Pupil).where(
        Pupil.id.in_(pupil_ids), Pupil.class_id == school_class.id, Pupil.status == "active")))
    links = list(db.session.scalars(select(ParentLink).where(
        ParentLink.pupil_id.in_([p.id for p in pupils]))
        .options(selectinload(ParentLink.parent))))
    by_id = {p.id: p for p in pupils}
    delivered = []
    try:
        for link in links:
            parent, pupil = link.parent, by_id[link.pupil_id]
            if not may_write(staff, pupil, parent):
                continue
            conversation = _find_or_create(staff, pupil, parent)
            delivered.append((conversation, _add(conversation, staff, body, [], language, now,
                                                 broadcast_key=key, held=held)))
        sent = len(delivered)
        if not sent:
            raise MessageError(_("None of the families you chose has joined Hearth yet."), field="pupils")
        audit("message.broadcast", target_type="school_class", target_id=school_class.id,
              detail={"families": sent, "key": key, **({"held": True} if held else {})}, actor=staff)
        if not held:
            notification_events.messages_sent(staff, delivered, now)
        db.session.commit()
    except IntegrityError:  # the same form twice at the same moment: the first one stands
        db.session.rollback()
        return db.session.scalar(select(func.count()).select_from(Message).where(
            Message.sender_user_id == staff.id, Message.broadcast_key == key))
    if not held:
        from .translation import prefetch
        prefetch(school_class.school, [(body, language)], [link.parent.locale for link in links])
    return sent


def _check_attachments(sender, media_list):
    for media in media_list:
        if not media.staged or media.school_id != sender.school_id or (
                media.uploaded_by_pupil_id != sender.id if sender.is_pupil else media.uploaded_by_id != sender.id):
            raise MessageError(_("One of the files could not be found. Add it again."), field="files")


def staged_attachments(account, media_ids):
    """The account's own uploads that belong to nothing yet, in the order given."""
    if not media_ids:
        return []
    owner = (MediaFile.uploaded_by_pupil_id if account.is_pupil else MediaFile.uploaded_by_id) == account.id
    rows = db.session.scalars(select(MediaFile).where(
        MediaFile.id.in_(media_ids), MediaFile.school_id == account.school_id, owner,
        MediaFile.post_id.is_(None), MediaFile.portfolio_item_id.is_(None), MediaFile.message_id.is_(None)))
    found = {m.id: m for m in rows}
    return [found[i] for i in media_ids if i in found]


def hide(account, message, now=None):
    """The sender hides a message sent by mistake, within a minute. The record keeps it."""
    now = now or utcnow()
    mine = (message.sender_pupil_id == account.id) if account.is_pupil else (message.sender_user_id == account.id)
    if not mine:
        raise MessageError(_("Only the sender can hide a message."))
    if message.hidden_at is None:
        if now - message.created_at > HIDE_WINDOW:
            raise MessageError(_("A message can only be hidden in the first minute after sending it."))
        message.hidden_at = now
        conversation = db.session.get(Conversation, message.conversation_id)
        conversation.hidden_count += 1
        audit("message.hide", target_type="message", target_id=message.id, actor=account)
        db.session.commit()
    return message


def report(account, message, reason):
    """Record a participant's report of a message for the senior leaders: the one reporting
    mechanism for every kind of content (app/services/safeguarding.py)."""
    from .safeguarding import report as report_content
    return report_content(account, "message", message, reason)


# ---- reading ----------------------------------------------------------------------------------------

def mark_read(account, conversation, now=None):
    """Move the reader's marker to the newest message sent to them, and mark the conversation's
    notifications read. Returns True if the marker moved."""
    now = now or utcnow()
    if account.is_staff and not account.is_pupil:
        moved = conversation.staff_read_id < conversation.last_to_staff_id
        if moved:
            conversation.staff_read_id, conversation.staff_read_at = conversation.last_to_staff_id, now
    else:
        moved = conversation.other_read_id < conversation.last_to_other_id
        if moved:
            conversation.other_read_id, conversation.other_read_at = conversation.last_to_other_id, now
    marked = notification_events.conversation_read(account, conversation, now)
    if moved or marked:
        db.session.commit()
    return moved


def unread_for(account, conversation):
    if account.is_staff and not account.is_pupil:
        return conversation.last_to_staff_id > conversation.staff_read_id
    return conversation.last_to_other_id > conversation.other_read_id


def _mine(account):
    """The conversations this account takes part in, and the columns of its own side."""
    if account.is_pupil:
        return (and_(Conversation.pupil_id == account.id, Conversation.kind == KIND_PUPIL),
                Conversation.last_to_other_id, Conversation.other_read_id)
    if account.is_staff:
        return Conversation.staff_id == account.id, Conversation.last_to_staff_id, Conversation.staff_read_id
    linked = select(ParentLink.pupil_id).where(ParentLink.parent_id == account.id)
    return (and_(Conversation.parent_id == account.id, Conversation.kind == KIND_PARENT,
                 Conversation.pupil_id.in_(linked)),
            Conversation.last_to_other_id, Conversation.other_read_id)


def nav_unread(account):
    """For the navigation: None where messaging is not open to this account, else the unread count."""
    if not account.is_authenticated or (account.is_pupil and not pupil_messaging_on(account)):
        return None
    return unread_count(account)


def unread_count(account):
    """How many conversations have a message this account has not read: one query."""
    if not account.is_authenticated:
        return 0
    where, last_to_me, read = _mine(account)
    return db.session.scalar(select(func.count()).select_from(Conversation)
                             .where(where, Conversation.school_id == account.school_id, last_to_me > read))


def inbox(account, before=None, limit=PAGE):
    """The account's conversations, newest first, with the last message: keyset pages.

    ``before`` is (last_message_at, id) of the last row already shown. Returns (rows, next_cursor)."""
    where, last_to_me, read = _mine(account)
    # The preview: the last message, unless it was removed after a report (and not the reader's).
    stmt = (select(Conversation, Message).outerjoin(Message, and_(Message.id == Conversation.last_message_id,
                                                              shown_to(account)))
            .where(where, Conversation.school_id == account.school_id,
                   Conversation.last_message_id.is_not(None))
            .options(selectinload(Conversation.staff), selectinload(Conversation.parent),
                     selectinload(Conversation.pupil))
            .order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(limit + 1))
    if before is not None:
        at, ident = before
        stmt = stmt.where(or_(Conversation.last_message_at < at,
                              and_(Conversation.last_message_at == at, Conversation.id < ident)))
    rows = db.session.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = (rows[-1][0].last_message_at, rows[-1][0].id) if more and rows else None
    return rows, cursor


def shown_to(reader):
    """SQL: the messages this reader sees: those shown to others (not removed after a report, not
    held for review unless released), and the reader's own. Reviewers work from the moderation
    queue. No reader: only what is shown to others."""
    if reader is None:
        return Message.shown_to_others()
    mine = (Message.sender_pupil_id == reader.id) if reader.is_pupil else (Message.sender_user_id == reader.id)
    return or_(Message.shown_to_others(), mine)


def shown_to_reader(message, reader):
    """The same rule as ``shown_to`` for one loaded message."""
    mine = (message.sender_pupil_id == reader.id) if reader.is_pupil else (message.sender_user_id == reader.id)
    shown = message.removed_at is None and (message.held_at is None or message.held_decision == "released")
    return mine or shown


def messages_page(conversation, before=None, limit=PAGE, reader=None):
    """The newest ``limit`` messages (older than ``before``) that ``reader`` sees, oldest first, and
    whether more exist."""
    stmt = (select(Message).where(Message.conversation_id == conversation.id, shown_to(reader))
            .options(selectinload(Message.sender_user), selectinload(Message.sender_pupil))
            .order_by(Message.id.desc()).limit(limit + 1))
    if before is not None:
        stmt = stmt.where(Message.id < before)
    rows = list(db.session.scalars(stmt))
    more = len(rows) > limit
    return list(reversed(rows[:limit])), more


def messages_since(conversation, first_id, limit=200, reader=None):
    """The messages from ``first_id`` on (those an open page shows), newest ``limit`` at most."""
    rows = list(db.session.scalars(
        select(Message).where(Message.conversation_id == conversation.id, Message.id >= first_id,
                              shown_to(reader))
        .options(selectinload(Message.sender_user), selectinload(Message.sender_pupil))
        .order_by(Message.id.desc()).limit(limit)))
    return list(reversed(rows))


def live_marker(conversation, reader):
    """Changes when a message arrives or is hidden, or when the *other* side reads: what an open
    page must show. The reader's own reading is left out, so that their "Seen" does not make
    their next poll fetch the messages again."""
    their_read = conversation.other_read_id if reader.is_staff else conversation.staff_read_id
    return f"{conversation.last_message_id or 0}.{their_read}.{conversation.hidden_count}"


def recent_classes_parents(staff, school_class):
    """The class's pupils with the parents who have joined, for choosing whom to write to."""
    pupils = list(db.session.scalars(
        select(Pupil).where(Pupil.class_id == school_class.id, Pupil.status == "active")
        .order_by(Pupil.display_name)))
    links = db.session.scalars(select(ParentLink).where(ParentLink.pupil_id.in_([p.id for p in pupils]))
                               .options(selectinload(ParentLink.parent)))
    parents = {}
    for link in links:
        if link.parent.status == "active":
            parents.setdefault(link.pupil_id, []).append(link.parent)
    return [(p, sorted(parents.get(p.id, []), key=lambda u: u.name)) for p in pupils]


def classes_for(staff):
    """The classes a member of staff writes to families from: their own, or every class for seniors."""
    if staff.is_senior:
        return list(db.session.scalars(select(SchoolClass).where(
            SchoolClass.school_id == staff.school_id, SchoolClass.archived_at.is_(None))
            .order_by(SchoolClass.year_group, SchoolClass.name)))
    return [c for c in staff.classes if c.archived_at is None]



def pupil_messaging_on_for_class(school_class):
    return db.session.get(PupilMessagingYear, (school_class.school_id, school_class.year_group)) is not None
