"""Email for notifications (issue 9): planning, sending once, retrying, digests, bounces.

Every email is an ``EmailDelivery`` row first, written in the same transaction as the news it
carries, with a unique key; the sending happens after the commit (through the job queue when Redis
is configured, in-process otherwise) and again from ``flask notify send-due`` for anything whose
time has come: mail held through a teacher's quiet hours, or a retry after a failure.

Sending once: a worker first claims the row (``pending`` -> ``sending`` in one UPDATE that only one
worker can win) and only the claimer sends. A worker that dies while sending leaves its claim,
which another takes over after ``CLAIM_TIMEOUT``. The Message-ID is fixed on the first attempt and
kept for every retry, so a receiving server can recognise a repeat.

An email carries no one's words: each notification is the one sentence ``notifications.describe``
gives (who did what to which thing) with a link into Hearth, where the reader signs in to read.
"""
import hashlib
import logging
import smtplib
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

from flask import current_app, render_template, request, url_for
from flask_babel import force_locale, ngettext
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import jobs
from ..extensions import db
from ..i18n import text_direction
from ..models import School, User
from ..models.base import utcnow
from ..models.notifications import (
    BOUNCED,
    EMAIL_DIGEST,
    EMAIL_INSTANT,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    EmailDelivery,
    Notification,
    NotificationPreference,
)
from . import mail, notifications, working_time
from .audit import audit

log = logging.getLogger("hearth.mail")

# A claim older than this belongs to a worker that died while sending: another may take the row.
CLAIM_TIMEOUT = timedelta(minutes=15)
# The waits after the 1st, 2nd, ... failed attempt; after the last attempt the delivery has failed.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
           timedelta(hours=12))
MAX_ATTEMPTS = len(BACKOFF) + 1
DIGEST_DAYS = 7          # a digest gathers the unread news of the last week that no email carried
DIGEST_PER_KIND = 20     # lines per kind in one digest; the rest is "and N more" with a link
DEV_PUBLIC_URL = "http://127.0.0.1:5000"


# --- planning ---------------------------------------------------------------------------------

def hold_until(user, now, cal=None):
    """When email to this person may go: now, or for staff in their quiet hours the start of their
    next working time (held=True). Parents are never held. ``cal``: the school's calendar when the
    caller has it already."""
    if not user.is_staff:
        return now, False
    cal = cal or working_time.calendar_for(user.school, working_time.school_today(user.school, now))
    week = working_time.staff_week_for(user, cal)
    if not working_time.in_quiet_hours(now, cal, week):
        return now, False
    start = working_time.next_working_start(now, cal, week)
    if start is None:
        return now, False
    return start.replace(tzinfo=None), True


def plan_instant(pairs, now):
    """An instant email for each (notification, user), unless the address bounced. In the caller's
    transaction; the send is queued once it commits."""
    planned = []
    for notification, user in pairs:
        if user.email_bounced_at is not None:
            continue
        due, held = hold_until(user, now)
        delivery = EmailDelivery(
            school_id=user.school_id, user_id=user.id, key=f"notification:{notification.id}:email",
            kind=EMAIL_INSTANT, to_address=user.email, status=PENDING, next_attempt_at=due,
            held_for_quiet_hours=held, created_at=now)
        db.session.add(delivery)
        planned.append((notification, delivery))
    if planned:
        db.session.flush()
        for notification, delivery in planned:
            notification.delivery_id = delivery.id
            if not delivery.held_for_quiet_hours:
                jobs.enqueue_after_commit("app.services.email_delivery:deliver", delivery.id)
    return [delivery for _n, delivery in planned]


# --- sending one ------------------------------------------------------------------------------

def _due_clause(now):
    return or_(and_(EmailDelivery.status == PENDING, EmailDelivery.next_attempt_at <= now),
               and_(EmailDelivery.status == SENDING, EmailDelivery.claimed_at < now - CLAIM_TIMEOUT))


def _claim(delivery_id, now):
    """Take the row for this worker: True for exactly one of any number of workers trying."""
    result = db.session.execute(
        update(EmailDelivery).where(EmailDelivery.id == delivery_id, _due_clause(now))
        .values(status=SENDING, claimed_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        return False
    return True


def deliver(delivery_id, now=None):
    """Send one delivery if it is due and this worker wins its claim. Returns the status it ends in
    (sent, skipped, bounced, failed; pending when it will be tried again), or None when it was not
    this worker's to send (not due, already sent, or claimed by another). A job or a command's own
    work: it commits, in a session with nothing else pending."""
    now = now or utcnow()
    if not _claim(delivery_id, now):
        return None
    delivery = db.session.scalars(select(EmailDelivery).options(joinedload(EmailDelivery.user))
                                  .where(EmailDelivery.id == delivery_id)
                                  .execution_options(populate_existing=True)).one()
    user = delivery.user
    if delivery.message_id is None:
        delivery.message_id = _message_id(delivery)
    items = _still_worth_sending(delivery, user, now)
    if not items:
        delivery.status, delivery.claimed_at = SKIPPED, None
        db.session.commit()
        return SKIPPED
    delivery.to_address = user.email
    try:
        message = _build(delivery, user, items)
    except Exception as error:  # a fault in Hearth, not the mail server's: try again, then give up
        log.exception("Mail delivery %s could not be written", delivery.id)
        return _failed_attempt(delivery, _describe_error(error), now)
    db.session.commit()  # the claim and the Message-ID are saved before anything leaves
    try:
        mail.send_message(message)
    except smtplib.SMTPException as error:
        refusal = _permanent_refusal(error)
        if refusal is not None:
            return _bounced(delivery, user, refusal, now)
        return _failed_attempt(delivery, _describe_error(error), now)
    except OSError as error:  # connection refused, timeout, name not found
        return _failed_attempt(delivery, _describe_error(error), now)
    delivery.status, delivery.sent_at, delivery.claimed_at = SENT, now, None
    delivery.attempts += 1
    delivery.last_error = None
    db.session.commit()
    return SENT


def _still_worth_sending(delivery, user, now):
    """The notifications this email would carry now, or [] when there is nothing left to say: the
    person read them in the app, no longer wants this kind by this email, or cannot receive mail."""
    if user.email_bounced_at is not None or user.blocked(now):
        return []
    rows = db.session.scalars(
        select(Notification).options(joinedload(Notification.actor), joinedload(Notification.pupil))
        .where(Notification.delivery_id == delivery.id, Notification.read_at.is_(None))
        .order_by(Notification.created_at, Notification.id)).all()
    if not rows:
        return []
    wanted = EMAIL_INSTANT if delivery.kind == EMAIL_INSTANT else EMAIL_DIGEST
    choices = notifications.preferences_for(user)
    return [n for n in rows if n.kind in choices and choices[n.kind].email == wanted]


def _permanent_refusal(error):
    """The server's reason when it refused the address for good (a 5xx at RCPT or DATA), else None.
    A 4xx anywhere, a refused sender or sign-in, or a broken connection is worth another try."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [(code, text) for code, text in error.recipients.values()]
        if codes and all(code >= 500 for code, _text in codes):
            code, text = codes[0]
            return f"{code} {_text_of(text)}"
        return None
    if isinstance(error, smtplib.SMTPDataError) and error.smtp_code >= 500:
        return f"{error.smtp_code} {_text_of(error.smtp_error)}"
    return None


def _text_of(value):
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value)[:400]


def _describe_error(error):
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {_text_of(text)}" for code, text in error.recipients.values())[:500]
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text_of(error.smtp_error)}"
    return f"{type(error).__name__}: {error}"[:500]


def _bounced(delivery, user, reason, now):
    delivery.status, delivery.claimed_at, delivery.last_error = BOUNCED, None, reason
    delivery.attempts += 1
    user.email_bounced_at, user.email_bounce_reason = now, reason
    audit("notifications.email_bounced", "user", user.id, school_id=user.school_id,
          detail={"delivery": delivery.id, "reason": reason[:120]})
    db.session.commit()
    log.warning("Mail to user %s bounced: %s", user.id, reason)
    return BOUNCED


def _failed_attempt(delivery, reason, now):
    delivery.attempts += 1
    delivery.last_error, delivery.claimed_at = reason, None
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = FAILED
        log.error("Mail delivery %s failed after %s attempts: %s", delivery.id, delivery.attempts, reason)
    else:
        delivery.status = PENDING
        delivery.next_attempt_at = now + BACKOFF[delivery.attempts - 1]
        log.info("Mail delivery %s will be tried again at %s: %s", delivery.id, delivery.next_attempt_at, reason)
    db.session.commit()
    return delivery.status


# --- the email itself -------------------------------------------------------------------------

def _public_url():
    return (current_app.config.get("PUBLIC_URL") or DEV_PUBLIC_URL).rstrip("/") + "/"


def _message_id(delivery):
    """The same Message-ID on every attempt: from the delivery's own unique key."""
    digest = hashlib.sha256(f"{delivery.id}:{delivery.key}".encode()).hexdigest()[:20]
    domain = urlsplit(_public_url()).hostname or "hearth.local"
    return f"<hearth.{delivery.id}.{digest}@{domain}>"


@contextmanager
def _link_context(locale):
    """A request context of its own at PUBLIC_URL, in the reader's language: links come out
    absolute, and nothing of the request that made the news (its signed-in user) leaks in."""
    with current_app.test_request_context("/", base_url=_public_url()), force_locale(locale):
        yield


def _absolute(path):
    return urljoin(request.host_url, path)


def locale_for(user):
    return user.locale or user.school.default_locale or "en"


def _build(delivery, user, items):
    locale = locale_for(user)
    with _link_context(locale):
        common = {
            "user": user,
            "school_name": user.school.name,
            "lang": locale.replace("_", "-"),
            "text_dir": text_direction(locale),
            "settings_url": url_for("notifications.settings", _external=True),
        }
        if delivery.kind == EMAIL_INSTANT:
            note = items[0]
            what = note.kind
            sentence = notifications.describe(note)
            subject = sentence
            context = dict(common, sentence=sentence, link=_absolute(notifications.link_for(note)),
                           kind_label=str(notifications.KIND_LABELS.get(note.kind, "")))
            template = "email/instant"
        else:
            what = notifications.UNSUBSCRIBE_DIGEST
            groups = _digest_groups(items)
            subject = ngettext("%(num)d update from %(school)s", "%(num)d updates from %(school)s",
                               len(items), school=user.school.name)
            context = dict(common, groups=groups, count=len(items),
                           all_url=url_for("notifications.index", _external=True))
            template = "email/digest"
        unsubscribe_url = url_for("notifications.unsubscribe", _external=True,
                                  token=notifications.unsubscribe_token(user, what))
        context["unsubscribe_url"] = unsubscribe_url
        text = render_template(template + ".txt", **context)
        html = render_template(template + ".html", subject=subject, **context)
        headers = {
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Content-Language": context["lang"],
            "Auto-Submitted": "auto-generated",
        }
        return mail.build_message(delivery.to_address, subject, text, html, headers,
                                  message_id=delivery.message_id)


def _digest_groups(items):
    """[(kind label, [(sentence, absolute link)], how many more)] in the order of the kinds."""
    by_kind = defaultdict(list)
    for note in items:
        by_kind[note.kind].append(note)
    groups = []
    for kind in notifications.KINDS:
        notes = sorted(by_kind.get(kind, []), key=lambda n: (n.updated_at, n.id), reverse=True)
        if notes:
            lines = [(notifications.describe(n), _absolute(notifications.link_for(n)))
                     for n in notes[:DIGEST_PER_KIND]]
            groups.append((str(notifications.KIND_LABELS[kind]), lines, len(notes) - len(lines)))
    return groups


# --- sending what is due ----------------------------------------------------------------------

def send_due(now=None, limit=500):
    """Scheduled Class Story posts whose time has come, then every email that is due: held mail,
    retries, and mail a dead worker left half-sent. Returns a Counter of the outcomes."""
    now = now or utcnow()
    from . import notification_events  # it imports notifications, which imports this module
    notification_events.notify_due_posts(now)
    return _send_due_mail(now, limit)


def _send_due_mail(now, limit=500):
    """Every due delivery, ``limit`` at a time in the order of their ids, until none is left."""
    counts = Counter()
    last_id = 0
    while True:
        ids = list(db.session.scalars(
            select(EmailDelivery.id).where(_due_clause(now), EmailDelivery.id > last_id)
            .order_by(EmailDelivery.id).limit(limit)))
        db.session.rollback()  # end the read transaction: each delivery is its own
        for delivery_id in ids:
            counts[deliver(delivery_id, now) or "not claimed"] += 1
        if len(ids) < limit:
            return counts
        last_id = ids[-1]


# --- digests ----------------------------------------------------------------------------------

def send_digests(now=None):
    """Make today's digest for everyone whose school has reached its digest time, then send what
    is due. Safe to run at any time and any number of times, even at once: the key
    ``digest:<user>:<local day>`` is unique, so one person never gets two digests for one day.

    Cost per school with news waiting: one query for the school list, one for the waiting
    notifications (with their people), one for their preferences, one for the calendar when staff
    are among them and one per member of staff for their hours; then one insert and one update per
    person who gets a digest. Never a query per notification. Returns (digests made, Counter of
    the sending outcomes)."""
    now = now or utcnow()
    made = 0
    for school in db.session.scalars(select(School).order_by(School.id)).all():
        local = working_time.as_utc(now).astimezone(working_time.zone(school.timezone))
        if local.time().replace(tzinfo=None) < school.digest_time:
            continue
        made += _make_digests(school, local.date(), now)
    return made, _send_due_mail(now)


def _make_digests(school, local_date, now):
    rows = db.session.execute(
        select(Notification.id, Notification.kind, User)
        .join(User, User.id == Notification.user_id)
        .where(Notification.school_id == school.id, Notification.delivery_id.is_(None),
               Notification.read_at.is_(None), Notification.created_at >= now - timedelta(days=DIGEST_DAYS),
               Notification.created_at <= now, User.email_bounced_at.is_(None))
        .order_by(Notification.user_id, Notification.id)).all()
    if not rows:
        return 0
    waiting = defaultdict(list)
    people = {}
    for note_id, kind, user in rows:
        waiting[user.id].append((note_id, kind))
        people[user.id] = user
    stored = defaultdict(dict)
    for user_id, kind, email in db.session.execute(
            select(NotificationPreference.user_id, NotificationPreference.kind, NotificationPreference.email)
            .where(NotificationPreference.user_id.in_(list(people)))):
        stored[user_id][kind] = email
    existing = set(db.session.scalars(select(EmailDelivery.key).where(
        EmailDelivery.key.in_([_digest_key(uid, local_date) for uid in people]))))
    cal = None
    made = 0
    for user_id, notes in waiting.items():
        user = people[user_id]
        key = _digest_key(user_id, local_date)
        if key in existing or user.blocked(now):
            continue
        defaults = notifications.defaults_for(user)
        ids = [note_id for note_id, kind in notes if kind in defaults
               and stored[user_id].get(kind, defaults[kind].email) == EMAIL_DIGEST]
        if not ids:
            continue
        if user.is_staff and cal is None:
            cal = working_time.calendar_for(school, local_date)
        due, held = hold_until(user, now, cal)
        delivery = EmailDelivery(school_id=school.id, user_id=user.id, key=key, kind=EMAIL_DIGEST,
                                 digest_day=local_date, to_address=user.email, status=PENDING,
                                 next_attempt_at=due, held_for_quiet_hours=held, created_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(delivery)
                db.session.flush()
        except IntegrityError:
            continue  # another run made it a moment ago
        db.session.execute(update(Notification).where(Notification.id.in_(ids), Notification.delivery_id.is_(None))
                           .values(delivery_id=delivery.id).execution_options(synchronize_session=False))
        made += 1
    db.session.commit()
    return made


def _digest_key(user_id, local_date):
    return f"digest:{user_id}:{local_date.isoformat()}"
