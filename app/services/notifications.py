"""Notifications (issue 9): who hears about what, in the app and by email, as each person chose.

The feature services call ``notify`` inside their own transaction, just before they commit: a new
message, a new Class Story post, a comment or like on a teacher's post or on a child's work, work
waiting for a teacher's approval, a report waiting for the senior leaders, points for a child.
``notify`` writes one row per recipient who wants that kind of news at all, and plans the email
(``email_delivery.plan_instant``) for those who want it at once; the day's digest picks up the rest.

Repeats join one unread row (five likes on one post, three messages in one conversation), so a
busy day is one line and one email, not twenty. The number of unread rows shown in the app is
kept on the user's row, so that the navigation's count costs no query; the notifications page
recounts it, which mends any drift.

Nothing anyone wrote is stored here or sent by email: a notification names who did what to which
thing, and the reader opens Hearth to read it.
"""
import hashlib
import json
from collections import Counter
from dataclasses import dataclass

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import User
from ..models.base import utcnow
from ..models.notifications import (
    EMAIL_CHOICES,
    EMAIL_DIGEST,
    EMAIL_INSTANT,
    EMAIL_NEVER,
    Notification,
    NotificationPreference,
)

MESSAGE = "message"
POST = "post"
COMMENT = "comment"
LIKE = "like"
WORK_WAITING = "work_waiting"
REPORT = "report"
POINTS = "points"
KINDS = (MESSAGE, POST, COMMENT, LIKE, WORK_WAITING, REPORT, POINTS)

KIND_LABELS = {
    MESSAGE: _l("Messages"),
    POST: _l("New posts on the Class Story"),
    COMMENT: _l("Comments"),
    LIKE: _l("Likes"),
    WORK_WAITING: _l("Pupils' work waiting for your approval"),
    REPORT: _l("Reports waiting for the senior leaders"),
    POINTS: _l("Points for your child"),
}
KIND_HINTS = {
    MESSAGE: _l("A new message in one of your conversations."),
    POST: _l("Class news, celebrations, reminders and home learning."),
    COMMENT: _l("A comment on your child's work."),
    LIKE: _l("A like on your child's work."),
    WORK_WAITING: _l("A pupil shared work and a teacher needs to look at it first."),
    REPORT: _l("Someone reported a message, post or comment."),
    POINTS: _l("Team points, each time they are given. Off at first: there can be many."),
}
STAFF_HINTS = {
    **KIND_HINTS,
    COMMENT: _l("A comment on one of your posts."),
    LIKE: _l("A like on one of your posts."),
}


def hints_for(user):
    """The line under each kind on the preferences page, in this person's terms."""
    return KIND_HINTS if user.is_parent else STAFF_HINTS


EMAIL_LABELS = {
    EMAIL_INSTANT: _l("Email me straight away"),
    EMAIL_DIGEST: _l("In one email a day"),
    EMAIL_NEVER: _l("No email"),
}

# How long an unsubscribe link in an email works (the email's own age, not the person's choice).
UNSUBSCRIBE_MAX_AGE = 90 * 24 * 3600
UNSUBSCRIBE_DIGEST = "digest"


@dataclass(frozen=True)
class Choice:
    in_app: bool
    email: str

    @property
    def wanted(self):
        return self.in_app or self.email != EMAIL_NEVER


# Defaults that respect people: messages at once; everything else in the day's digest for parents;
# teachers hear of likes only in the app; points only when a parent asks for them.
PARENT_DEFAULTS = {
    MESSAGE: Choice(True, EMAIL_INSTANT),
    POST: Choice(True, EMAIL_DIGEST),
    COMMENT: Choice(True, EMAIL_DIGEST),
    LIKE: Choice(True, EMAIL_DIGEST),
    POINTS: Choice(False, EMAIL_NEVER),
}
STAFF_DEFAULTS = {
    MESSAGE: Choice(True, EMAIL_INSTANT),
    COMMENT: Choice(True, EMAIL_DIGEST),
    LIKE: Choice(True, EMAIL_NEVER),
    WORK_WAITING: Choice(True, EMAIL_DIGEST),
}
SENIOR_DEFAULTS = {**STAFF_DEFAULTS, REPORT: Choice(True, EMAIL_INSTANT)}


def defaults_for(user):
    """The kinds of news this person can get, in order, with the default choice for each."""
    if user.is_parent:
        return PARENT_DEFAULTS
    if user.is_senior or user.is_head:
        return SENIOR_DEFAULTS
    return STAFF_DEFAULTS


def kinds_for(user):
    return [kind for kind in KINDS if kind in defaults_for(user)]


def preferences_for(user):
    """kind -> Choice for every kind this person can get (one query)."""
    choices = dict(defaults_for(user))
    rows = db.session.execute(select(NotificationPreference.kind, NotificationPreference.in_app,
                                     NotificationPreference.email)
                              .where(NotificationPreference.user_id == user.id)).all()
    for kind, in_app, email in rows:
        if kind in choices and email in EMAIL_CHOICES:
            choices[kind] = Choice(bool(in_app), email)
    return choices


def choices_of(users, kind):
    """user id -> Choice for one kind, for many people (one query)."""
    ids = [u.id for u in users]
    stored = {}
    if ids:
        stored = {uid: Choice(bool(in_app), email) for uid, in_app, email in db.session.execute(
            select(NotificationPreference.user_id, NotificationPreference.in_app,
                   NotificationPreference.email)
            .where(NotificationPreference.user_id.in_(ids), NotificationPreference.kind == kind))}
    result = {}
    for user in users:
        default = defaults_for(user).get(kind)
        if default is None:
            continue
        choice = stored.get(user.id, default)
        result[user.id] = choice if choice.email in EMAIL_CHOICES else default
    return result


class PreferenceError(ValueError):
    pass


def set_preferences(user, choices):
    """Save ``{kind: Choice}`` for this person (kinds they cannot get are refused) and commit."""
    allowed = defaults_for(user)
    for kind, choice in choices.items():
        if kind not in allowed or choice.email not in EMAIL_CHOICES:
            raise PreferenceError(kind)
    _store(user, choices)
    db.session.commit()


def _store(user, choices):
    existing = {p.kind: p for p in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id))}
    for kind, choice in choices.items():
        row = existing.get(kind)
        if row is None:
            db.session.add(NotificationPreference(user_id=user.id, kind=kind, in_app=choice.in_app,
                                                  email=choice.email))
        else:
            row.in_app, row.email = choice.in_app, choice.email


# --- creating notifications -------------------------------------------------------------------

def notify(recipients, kind, subject, *, actor=None, pupil=None, params=None, group_key=None,
           add=None, now=None):
    """Tell each recipient about ``subject`` ("conversation:12", "post:5", ...), as they chose.

    Call it inside the caller's transaction, before the commit. The actor never hears of their own
    doing, and a blocked account hears nothing. With ``group_key``, an unread notification with the
    same key for the same person is brought up to date instead (its count grows by one and, with
    ``add``, the numbers named in ``add`` grow by theirs), so repeats make one line and one email.
    Returns the new rows.
    """
    return notify_each([(user, subject, pupil, group_key) for user in recipients], kind, actor=actor,
                       params=params, add=add, now=now)


def notify_each(entries, kind, *, actor=None, params=None, add=None, now=None):
    """``notify`` for many things at once: ``entries`` are (recipient, subject, pupil, group_key),
    one per person and thing (points for thirty pupils, one message to thirty families). The same
    few queries whatever their number. Returns the new rows."""
    now = now or utcnow()
    seen, wanted = set(), []
    for user, subject, pupil, group_key in entries:
        if user is None or (user.id, subject) in seen or (actor is not None and user.id == actor.id):
            continue
        if user.blocked(now):
            continue
        seen.add((user.id, subject))
        wanted.append((user, subject, pupil, group_key))
    if not wanted:
        return []
    people = list({user.id: user for user, *_rest in wanted}.values())
    choices = choices_of(people, kind)
    wanted = [entry for entry in wanted if entry[0].id in choices and choices[entry[0].id].wanted]
    if not wanted:
        return []
    params = dict(params or {})
    existing = {}
    keys = {group_key for *_rest, group_key in wanted if group_key}
    if keys:
        existing = {(n.user_id, n.group_key): n for n in db.session.scalars(
            select(Notification).where(Notification.user_id.in_({user.id for user, *_rest in wanted}),
                                       Notification.group_key.in_(keys), Notification.read_at.is_(None)))}
    created, counted = [], Counter()
    for user, subject, pupil, group_key in wanted:
        choice = choices[user.id]
        row = existing.get((user.id, group_key)) if group_key else None
        if row is not None:
            row.count = (row.count or 1) + 1
            row.updated_at = now
            row.actor_id = actor.id if actor is not None else row.actor_id
            merged = json.loads(row.params or "{}")
            for name, value in (add or {}).items():
                merged[name] = merged.get(name, 0) + value
            for name, value in params.items():
                if name not in (add or {}):
                    merged[name] = value
            row.params = json.dumps(merged, sort_keys=True)
            if choice.in_app and not row.shown:
                row.shown = True
                counted[user.id] += 1
            continue
        row = Notification(
            school_id=user.school_id, user_id=user.id, kind=kind, subject=subject,
            actor_id=actor.id if actor is not None else None,
            pupil_id=pupil.id if pupil is not None else None,
            params=json.dumps(params, sort_keys=True), group_key=group_key, count=1, shown=choice.in_app,
            created_at=now, updated_at=now)
        db.session.add(row)
        created.append((row, user, choice))
        if group_key:
            existing[(user.id, group_key)] = row
        if choice.in_app:
            counted[user.id] += 1
    by_amount = {}
    for user_id, amount in counted.items():
        by_amount.setdefault(amount, []).append(user_id)
    for amount, user_ids in sorted(by_amount.items()):
        db.session.execute(update(User).where(User.id.in_(user_ids)).values(
            unread_notifications=User.unread_notifications + amount)
            .execution_options(synchronize_session=False))
    instant = [(row, user) for row, user, choice in created if choice.email == EMAIL_INSTANT]
    if instant:
        from . import email_delivery
        db.session.flush()
        email_delivery.plan_instant(instant, now)
    return [row for row, _user, _choice in created]


# --- reading ----------------------------------------------------------------------------------

PAGE_SIZE = 50


def latest(user, limit=PAGE_SIZE):
    """The person's newest notifications shown in the app, with who did it (one query)."""
    return db.session.scalars(
        select(Notification).options(joinedload(Notification.actor), joinedload(Notification.pupil))
        .where(Notification.user_id == user.id, Notification.shown.is_(True))
        .order_by(Notification.updated_at.desc(), Notification.id.desc()).limit(limit)).all()


def recount(user):
    """Set the stored unread count to the truth (one query, plus a write when it had drifted)."""
    count = db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.shown.is_(True), Notification.read_at.is_(None)))
    if count != user.unread_notifications:
        user.unread_notifications = count
        db.session.commit()
    return count


def open_notification(user, notification, now=None):
    """Mark one read (it is the reader's own); ``link_for`` says where it leads."""
    if notification.read_at is None:
        notification.read_at = now or utcnow()
        if notification.shown:
            _lower_count(user.id, 1)
        db.session.commit()


def mark_all_read(user, now=None):
    db.session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=now or utcnow())
        .execution_options(synchronize_session=False))
    db.session.execute(update(User).where(User.id == user.id).values(unread_notifications=0)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    db.session.expire(user, ["unread_notifications"])


def mark_subject_read(user_id, subject, now=None):
    """The person has looked at the thing itself (a conversation they read): its notifications
    are read too. No commit: part of the caller's transaction. Returns how many it marked."""
    result = db.session.execute(update(Notification).where(
        Notification.user_id == user_id, Notification.subject == subject,
        Notification.read_at.is_(None)).values(read_at=now or utcnow())
        .execution_options(synchronize_session=False))
    marked = result.rowcount or 0
    if marked:
        shown = db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.shown.is_(True),
            Notification.read_at.is_(None)))
        db.session.execute(update(User).where(User.id == user_id).values(unread_notifications=shown)
                           .execution_options(synchronize_session=False))
    return marked


def forget_subject(subject):
    """The thing is gone (a deleted post): its notifications go too, and the counts of the people
    who had them unread come down. No commit: part of the caller's transaction."""
    unread = [uid for (uid,) in db.session.execute(select(Notification.user_id).where(
        Notification.subject == subject, Notification.shown.is_(True), Notification.read_at.is_(None)))]
    db.session.execute(delete(Notification).where(Notification.subject == subject)
                       .execution_options(synchronize_session=False))
    by_count = {}
    for user_id, times in Counter(unread).items():
        by_count.setdefault(times, []).append(user_id)
    for times, user_ids in by_count.items():
        db.session.execute(update(User).where(User.id.in_(user_ids)).values(
            unread_notifications=case((User.unread_notifications > times, User.unread_notifications - times),
                                      else_=0))
            .execution_options(synchronize_session=False))


def _lower_count(user_id, by):
    db.session.execute(update(User).where(User.id == user_id, User.unread_notifications >= by).values(
        unread_notifications=User.unread_notifications - by).execution_options(synchronize_session=False))


def params_of(notification):
    try:
        value = json.loads(notification.params or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def link_for(notification):
    """The path that opens what the notification is about."""
    kind, _sep, ident = notification.subject.partition(":")
    try:
        ident = int(ident)
    except ValueError:
        return url_for("notifications.index")
    endpoints = {
        "conversation": ("messages.conversation", "conversation_id"),
        "post": ("stories.post", "post_id"),
        "portfolio_item": ("portfolio.item", "item_id"),
        "report": ("safeguarding.report_page", "report_id"),
        "pupil": ("family.child", "pupil_id"),
    }
    if kind == "queue":
        return url_for("portfolio.queue")
    if kind not in endpoints:
        return url_for("notifications.index")
    endpoint, arg = endpoints[kind]
    return url_for(endpoint, **{arg: ident})


def describe(notification):
    """One sentence in the current language: who did what, to which thing. No one's words."""
    p = params_of(notification)
    n = notification
    name = n.actor.name if n.actor is not None else _("Someone")
    pupil = n.pupil.display_name if n.pupil is not None else ""
    on_work = n.subject.startswith("portfolio_item:")
    # A count of one has its own sentence; the plural entries carry %(num)d in both forms, because in
    # some languages (Lithuanian, Ukrainian) the "singular" form also serves 21, 31...
    if n.kind == MESSAGE:
        if n.actor is None and pupil:
            if n.count == 1:
                return _("%(pupil)s sent you a message", pupil=pupil)
            return ngettext("%(pupil)s sent you %(num)d message", "%(pupil)s sent you %(num)d messages",
                            n.count, pupil=pupil)
        if pupil:  # a conversation about a child: a parent of two, or a teacher of thirty, needs to know which
            if n.count == 1:
                return _("%(name)s sent you a message about %(pupil)s", name=name, pupil=pupil)
            return ngettext("%(name)s sent you %(num)d message about %(pupil)s",
                            "%(name)s sent you %(num)d messages about %(pupil)s", n.count, name=name, pupil=pupil)
        if n.count == 1:
            return _("%(name)s sent you a message", name=name)
        return ngettext("%(name)s sent you %(num)d message", "%(name)s sent you %(num)d messages",
                        n.count, name=name)
    if n.kind == POST:
        if p.get("class_name"):
            return _("%(name)s posted on %(class_name)s's Class Story", name=name, class_name=p["class_name"])
        return _("%(name)s posted on the school's story", name=name)
    if n.kind == COMMENT:
        if on_work and pupil:
            if n.count == 1:
                return _("%(name)s commented on %(pupil)s's work", name=name, pupil=pupil)
            return ngettext("%(num)d new comment on %(pupil)s's work, the latest from %(name)s",
                            "%(num)d new comments on %(pupil)s's work, the latest from %(name)s",
                            n.count, name=name, pupil=pupil)
        if n.count == 1:
            return _("%(name)s commented on your post", name=name)
        return ngettext("%(num)d new comment on your post, the latest from %(name)s",
                        "%(num)d new comments on your post, the latest from %(name)s", n.count, name=name)
    if n.kind == LIKE:
        if on_work and pupil:
            if n.count == 1:
                return _("%(name)s liked %(pupil)s's work", name=name, pupil=pupil)
            return ngettext("%(name)s and %(num)d other person liked %(pupil)s's work",
                            "%(name)s and %(num)d other people liked %(pupil)s's work",
                            n.count - 1, name=name, pupil=pupil)
        if n.count == 1:
            return _("%(name)s liked your post", name=name)
        return ngettext("%(name)s and %(num)d other person liked your post",
                        "%(name)s and %(num)d other people liked your post", n.count - 1, name=name)
    if n.kind == WORK_WAITING:
        if n.count == 1 and pupil:
            return _("%(pupil)s shared work for you to approve", pupil=pupil)
        return ngettext("%(num)d piece of work is waiting for your approval",
                        "%(num)d pieces of work are waiting for your approval", n.count)
    if n.kind == REPORT:
        if n.count == 1:
            return _("A new report is waiting for the senior leaders")
        return ngettext("%(num)d new report is waiting for the senior leaders",
                        "%(num)d new reports are waiting for the senior leaders", n.count)
    if n.kind == POINTS:
        points = int(p.get("points", n.count))
        return ngettext("%(pupil)s got %(num)d point", "%(pupil)s got %(num)d points", points,
                        pupil=pupil or _("Your child"))
    return _("Something new in Hearth")


# --- unsubscribe links ------------------------------------------------------------------------

def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="hearth-unsubscribe")


def _address_mark(user):
    """Ties a link to the address it was sent to: a link stops working when the address changes."""
    return hashlib.sha256(user.email.lower().encode()).hexdigest()[:12]


def unsubscribe_token(user, what):
    """A link's token that stops ``what`` (a kind, or UNSUBSCRIBE_DIGEST) by email for this person."""
    return _serializer().dumps([user.id, what, _address_mark(user)])


class UnsubscribeLinkError(ValueError):
    def __init__(self, expired):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def read_unsubscribe_token(token, max_age=UNSUBSCRIBE_MAX_AGE):
    """(user, what) for a genuine, unexpired token, else UnsubscribeLinkError."""
    try:
        user_id, what, mark = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise UnsubscribeLinkError(expired=True) from None
    except (BadSignature, ValueError, TypeError):
        raise UnsubscribeLinkError(expired=False) from None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or _address_mark(user) != mark or (what != UNSUBSCRIBE_DIGEST and what not in KINDS):
        raise UnsubscribeLinkError(expired=False)
    return user, what


def unsubscribe(user, what):
    """Stop email for one kind, or for everything in the daily digest. Returns the kinds changed."""
    choices = preferences_for(user)
    if what == UNSUBSCRIBE_DIGEST:
        kinds = [kind for kind, choice in choices.items() if choice.email == EMAIL_DIGEST]
    else:
        kinds = [what] if what in choices and choices[what].email != EMAIL_NEVER else []
    if kinds:
        _store(user, {kind: Choice(choices[kind].in_app, EMAIL_NEVER) for kind in kinds})
        from .audit import audit
        audit("notifications.unsubscribed", "user", user.id, detail={"kinds": kinds}, actor=user)
    db.session.commit()
    return kinds


# --- email the school should know about ------------------------------------------------------

def undelivered(school_id, limit=100):
    """The school's emails that the mail server refused or that failed every retry, newest first,
    with the person each was for (one query)."""
    from ..models.notifications import BOUNCED, FAILED, EmailDelivery
    return db.session.scalars(
        select(EmailDelivery).options(joinedload(EmailDelivery.user))
        .where(EmailDelivery.school_id == school_id, EmailDelivery.status.in_((BOUNCED, FAILED)))
        .order_by(EmailDelivery.created_at.desc(), EmailDelivery.id.desc()).limit(limit)).all()
