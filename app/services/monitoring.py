"""Monitoring by senior leaders (issue 8; SECURITY.md 12 and 29).

The policy: "Monitoring of the policy will be conducted by Senior Leaders who may ask to view the
Class Dojo page". A senior leader may look at any class's Class Story, points and Student Story,
read-only, and every look is written to the audit log. A private conversation is opened only with
a reason, which is recorded; the opening lets that senior leader read that conversation for
``GRANT_LENGTH``. The grant itself lives in the senior leader's session (the route keeps it), so
nothing here reads the request or the session.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Conversation, Message, PointAward, Pupil, SchoolClass
from ..models.base import utcnow
from .audit import audit
from .messaging import clean_body

GRANT_LENGTH = timedelta(minutes=30)
REASON_MIN_WORDS = 3
REASON_MAX = 1000
SEARCH_LIMIT = 30
RECENT_AWARDS = 30
LOOKS = ("story", "points", "student-story", "class")


class ReasonRefused(ValueError):
    """The reason given for opening a conversation will not do; the message is for the user."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


# ---- who monitors ---------------------------------------------------------------------------------

def may_monitor(account):
    """Senior leaders and the headteacher, while their account is in use."""
    return bool(account.is_authenticated and account.is_staff and account.is_senior and account.is_active)


def teaches_class(account, school_class):
    return any(c.id == school_class.id for c in account.classes)


# ---- looking at a class ---------------------------------------------------------------------------

def record_look(account, school_class, what, *, monitoring_page=False):
    """Write one audit entry for a senior leader's look at a class: on the monitoring pages always;
    on the class's normal pages (the Class Story, points, Student Story, class list) only when they
    do not teach the class. Nothing for anyone else. Returns the entry or None."""
    if what not in LOOKS:
        raise ValueError(f"unknown look {what!r}")
    if not may_monitor(account) or school_class.school_id != account.school_id:
        return None
    if not monitoring_page and teaches_class(account, school_class):
        return None
    entry = audit("monitoring.viewed", "school_class", school_class.id, detail={"what": what},
                  actor=account, school_id=school_class.school_id)
    db.session.commit()
    return entry


def school_classes(school_id):
    """Every class of the school in use (not archived), youngest first, teachers loaded."""
    return list(db.session.scalars(
        select(SchoolClass).where(SchoolClass.school_id == school_id, SchoolClass.archived_at.is_(None))
        .options(selectinload(SchoolClass.teachers))
        .order_by(SchoolClass.year_group, SchoolClass.name, SchoolClass.id)))


def recent_class_awards(school_class, limit=RECENT_AWARDS):
    """The newest awards made in this class (undone ones included, marked so), newest first."""
    return list(db.session.scalars(
        select(PointAward).where(PointAward.school_id == school_class.school_id,
                                 PointAward.class_id == school_class.id)
        .options(selectinload(PointAward.pupil), selectinload(PointAward.category),
                 selectinload(PointAward.awarded_by))
        .order_by(PointAward.awarded_at.desc(), PointAward.id.desc()).limit(limit)))


# ---- finding a family's or a pupil's conversations --------------------------------------------------

def find_pupils(school_id, text, limit=SEARCH_LIMIT):
    """Pupils of the school (current and former) whose name contains ``text``, by name."""
    text = " ".join((text or "").split())[:80]
    if not text:
        return []
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return list(db.session.scalars(
        select(Pupil).where(Pupil.school_id == school_id,
                            func.lower(Pupil.display_name).like(f"%{escaped.lower()}%", escape="\\"))
        .options(selectinload(Pupil.school_class))
        .order_by(Pupil.display_name, Pupil.id).limit(limit)))


def class_pupils(school_class):
    return list(db.session.scalars(
        select(Pupil).where(Pupil.school_id == school_class.school_id, Pupil.class_id == school_class.id,
                            Pupil.status == "active")
        .order_by(Pupil.display_name, Pupil.id)))


@dataclass
class ConversationLine:
    """What the list shows of a conversation: who, about whom, how many messages, when. No content."""
    conversation: Conversation
    messages: int
    last_at: datetime | None


def conversations_about(account, pupil):
    """Every conversation about ``pupil`` (with their family or with the pupil), newest first, with
    the number of messages; the listing itself is written to the audit log (first: the commit
    would otherwise expire what was loaded)."""
    audit("monitoring.viewed", "pupil", pupil.id, detail={"what": "conversations"}, actor=account,
          school_id=pupil.school_id)
    db.session.commit()
    conversations = list(db.session.scalars(
        select(Conversation).where(Conversation.school_id == pupil.school_id, Conversation.pupil_id == pupil.id)
        .options(selectinload(Conversation.staff), selectinload(Conversation.parent))
        .order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc())))
    counts = {}
    if conversations:
        counts = dict(db.session.execute(
            select(Message.conversation_id, func.count()).where(
                Message.conversation_id.in_([c.id for c in conversations]))
            .group_by(Message.conversation_id)).all())
    return [ConversationLine(c, counts.get(c.id, 0), c.last_message_at) for c in conversations]


def message_count(conversation):
    return db.session.scalar(select(func.count()).select_from(Message)
                             .where(Message.conversation_id == conversation.id)) or 0


# ---- opening a conversation -------------------------------------------------------------------------

def check_reason(text):
    """The reason, cleaned, or ReasonRefused with what is missing."""
    reason = clean_body(text)
    if not reason:
        raise ReasonRefused(_("Write why you need to read this conversation. The reason is kept in "
                              "the school's audit log."))
    if len(reason.split()) < REASON_MIN_WORDS:
        raise ReasonRefused(_("Say a little more: at least %(num)d words, for example “Concern "
                              "raised by the class teacher”.", num=REASON_MIN_WORDS))
    if len(reason) > REASON_MAX:
        raise ReasonRefused(_("Keep the reason under %(limit)s characters; it has %(count)s.",
                              limit=f"{REASON_MAX:,}", count=f"{len(reason):,}"))
    return reason


def open_conversation(account, conversation, reason, now=None):
    """Record that a senior leader opens a private conversation, and why. Returns the moment the
    read-only access ends. The reason is stored as the text it is: the audit log's pages and its
    export escape it where they show it."""
    if not may_monitor(account) or conversation.school_id != account.school_id:
        raise PermissionError("only the school's senior leaders monitor its conversations")
    reason = check_reason(reason)
    now = now or utcnow()
    until = now + GRANT_LENGTH
    audit("monitoring.conversation", "conversation", conversation.id,
          detail={"reason": reason, "until": until.isoformat(timespec="seconds") + "Z",
                  "pupil": conversation.pupil_id, "staff": conversation.staff_id},
          actor=account, school_id=conversation.school_id)
    db.session.commit()
    return until


def grant_is_valid(grant, account, conversation, now=None):
    """Is ``grant`` (user id, conversation id, end as ISO text, as the session keeps it) this
    senior leader's, for this conversation, and not over yet?"""
    if not grant or not may_monitor(account) or account.school_id != conversation.school_id:
        return False
    try:
        user_id, conversation_id = int(grant[0]), int(grant[1])
    except (TypeError, ValueError, IndexError):
        return False
    return (user_id == account.id and conversation_id == conversation.id
            and grant_still_running(grant, now))


def grant_record(account, conversation, until):
    return [account.id, conversation.id, until.isoformat()]



def grant_end(grant):
    """A kept grant's end (naive UTC), or None if it cannot be read."""
    try:
        return datetime.fromisoformat(grant[2])
    except (TypeError, ValueError, IndexError):
        return None


def grant_still_running(grant, now=None):
    """Is a kept grant's end still ahead (whatever it is for)?"""
    end = grant_end(grant)
    return end is not None and (now or utcnow()) < end
