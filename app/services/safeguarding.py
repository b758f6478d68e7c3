"""Reports of misuse and what senior leaders do about them (issue 8).

Anyone who can see a post, a comment, a portfolio item or a message may report it. Senior leaders
work the queue: dismiss, hide the content, warn the author, suspend for a period, end the account,
reinstate. The head can pause Hearth for every parent and pupil at once. Every step is audited.
"""
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from ..models import AccountAction, Comment, ContentReport, Conversation, Message, PortfolioItem, Post, Pupil, User
from ..models.base import utcnow
from . import notification_events
from .audit import audit

TARGET_MODELS = {"post": Post, "comment": Comment, "portfolio_item": PortfolioItem, "message": Message}
OPEN, DISMISSED, ACTIONED = "open", "dismissed", "actioned"
MAX_TEXT = 2000


class SafeguardingError(Exception):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.message, self.field = message, field


def _clean(text):
    from .messaging import clean_body
    return clean_body(text)[:MAX_TEXT]


# ---- what can be reported, and by whom ---------------------------------------------------------

def load_target(target_type, target_id):
    model = TARGET_MODELS.get(target_type)
    return db.session.get(model, target_id) if model is not None else None


def can_view_target(account, target_type, target):
    """The same questions the pages ask: what a reader cannot see, they cannot report."""
    from ..policies import can_view_portfolio_item, can_view_post
    if target is None or not account.is_authenticated or target.school_id != account.school_id:
        return False
    if target_type == "post":
        return can_view_post(account, target)
    if target_type == "portfolio_item":
        return can_view_portfolio_item(account, target)
    if target_type == "comment":
        parent = (db.session.get(Post, target.post_id) if target.post_id
                  else db.session.get(PortfolioItem, target.portfolio_item_id))
        if parent is None or not can_view_target(account, "post" if target.post_id else "portfolio_item", parent):
            return False
        if not account.is_pupil and target.author_id == account.id:
            return True
        from .stories import visible_comments_clause
        return db.session.scalar(select(Comment.id).join(User, User.id == Comment.author_id)
                                 .where(Comment.id == target.id, visible_comments_clause(account))) is not None
    if target_type == "message":
        from .messaging import is_participant
        conversation = db.session.get(Conversation, target.conversation_id)
        return bool(conversation is not None and is_participant(account, conversation)
                    and target.removed_at is None and target.hidden_at is None
                    and (target.held_at is None or target.held_decision == "released"))  # held: issue 8 part 4
    return False


def author_of(target_type, target):
    """The User or Pupil who wrote it (a portfolio item a pupil added: the pupil)."""
    if target_type in ("post", "comment"):
        return target.author
    if target_type == "portfolio_item":
        return target.pupil if target.by_pupil or target.added_by is None else target.added_by
    return target.sender_user if target.sender_user_id else target.sender_pupil


def is_own(account, target_type, target):
    author = author_of(target_type, target)
    return author is not None and author.is_pupil == account.is_pupil and author.id == account.id


def report(account, target_type, target, reason=""):
    """Record a report. A second report of the same thing by the same person while the first is
    still open returns the first. Returns (report, created)."""
    reporter = {"reporter_pupil_id": account.id} if account.is_pupil else {"reporter_user_id": account.id}
    existing = db.session.scalar(select(ContentReport).filter_by(
        school_id=target.school_id, target_type=target_type, target_id=target.id, status=OPEN, **reporter))
    if existing is not None:
        return existing, False
    item = ContentReport(school_id=target.school_id, target_type=target_type, target_id=target.id,
                         reason=_clean(reason), **reporter)
    db.session.add(item)
    db.session.flush()
    audit("report.created", "content_report", item.id, actor=account, school_id=target.school_id,
          detail={"target_type": target_type, "target_id": target.id})
    notification_events.report_made(item, account)
    db.session.commit()
    return item, True


# ---- the queue --------------------------------------------------------------------------------

@dataclass
class ReportView:
    report: ContentReport
    target: object
    author: object
    reporter: object

    @property
    def text(self):
        return getattr(self.target, "body", "") or "" if self.target is not None else ""


def open_report_count(school_id):
    return db.session.scalar(select(func.count()).select_from(ContentReport)
                             .where(ContentReport.school_id == school_id, ContentReport.status == OPEN))


def _views(reports):
    """Targets, authors and reporters of many reports in a few queries (one per kind)."""
    targets = {}
    for kind, model in TARGET_MODELS.items():
        ids = {r.target_id for r in reports if r.target_type == kind}
        if ids:
            targets.update({(kind, t.id): t for t in db.session.scalars(select(model).where(model.id.in_(ids)))})
    user_ids = {r.reporter_user_id for r in reports if r.reporter_user_id}
    pupil_ids = {r.reporter_pupil_id for r in reports if r.reporter_pupil_id}
    for (kind, _ident), target in targets.items():
        author = _author_ids(kind, target)
        (pupil_ids if author[0] == "p" else user_ids).add(author[1])
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    pupils = {p.id: p for p in db.session.scalars(select(Pupil).where(Pupil.id.in_(pupil_ids)))} if pupil_ids else {}
    views = []
    for r in reports:
        target = targets.get((r.target_type, r.target_id))
        author = None
        if target is not None:
            kind, ident = _author_ids(r.target_type, target)
            author = (pupils if kind == "p" else users).get(ident)
        reporter = users.get(r.reporter_user_id) if r.reporter_user_id else pupils.get(r.reporter_pupil_id)
        views.append(ReportView(r, target, author, reporter))
    return views


def _author_ids(kind, target):
    if kind in ("post", "comment"):
        return "u", target.author_id
    if kind == "portfolio_item":
        return ("p", target.pupil_id) if target.by_pupil or not target.added_by_id else ("u", target.added_by_id)
    return ("u", target.sender_user_id) if target.sender_user_id else ("p", target.sender_pupil_id)


def open_reports(school_id, limit=200):
    reports = list(db.session.scalars(
        select(ContentReport).where(ContentReport.school_id == school_id, ContentReport.status == OPEN)
        .order_by(ContentReport.created_at.desc(), ContentReport.id.desc()).limit(limit)))
    return _views(reports)


def report_view(item):
    return _views([item])[0]


def history(user):
    return list(db.session.scalars(select(AccountAction).where(AccountAction.user_id == user.id)
                                   .order_by(AccountAction.created_at.desc(), AccountAction.id.desc())))


def reports_about(user, limit=20):
    """Earlier reports of this user's posts, comments and messages (for the account page)."""
    clauses = []
    for kind, model, column in (("post", Post, Post.author_id), ("comment", Comment, Comment.author_id),
                                ("message", Message, Message.sender_user_id),
                                ("portfolio_item", PortfolioItem, PortfolioItem.added_by_id)):
        clauses.append(db.and_(ContentReport.target_type == kind,
                               ContentReport.target_id.in_(select(model.id).where(column == user.id))))
    reports = list(db.session.scalars(select(ContentReport).where(ContentReport.school_id == user.school_id,
                                                                  db.or_(*clauses))
                                      .order_by(ContentReport.created_at.desc()).limit(limit)))
    return _views(reports)


# ---- resolving a report -----------------------------------------------------------------------

def _resolve(item, by, status, note, now):
    if item.status == OPEN:
        item.status, item.resolved_at, item.resolved_by_id = status, now, by.id
        item.outcome_note = _clean(note) or None


def dismiss(item, by, note="", now=None):
    now = now or utcnow()
    _resolve(item, by, DISMISSED, note, now)
    audit("report.dismissed", "content_report", item.id, actor=by, school_id=item.school_id)
    db.session.commit()


def hide_content(item, by, note="", now=None):
    """Take the reported thing away from everyone but staff; the report is then actioned."""
    now = now or utcnow()
    target = load_target(item.target_type, item.target_id)
    if target is not None:
        if item.target_type == "comment":
            if target.hidden_at is None:
                target.hidden_at, target.hidden_by_id = now, by.id
        elif target.removed_at is None:
            target.removed_at, target.removed_by_id = now, by.id
    _resolve(item, by, ACTIONED, note, now)
    audit("content.removed", item.target_type, item.target_id, actor=by, school_id=item.school_id,
          detail={"report_id": item.id})
    db.session.commit()


# ---- steps on an account ----------------------------------------------------------------------

def may_act_on(actor, user):
    """Senior leaders on parents; only the head on staff; nobody on themselves or on the head."""
    if not (actor.is_authenticated and actor.is_senior and not actor.is_pupil and actor.is_active):
        return False
    if user is None or user.is_pupil or user.school_id != actor.school_id or user.id == actor.id or user.is_head:
        return False
    if user.is_staff:
        return actor.is_head
    return True


def suspension_end(school, day):
    """The start of ``day`` in the school's time zone, as naive UTC: the account opens that morning."""
    local = datetime.combine(day, time.min, ZoneInfo(school.timezone))
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def local_day(school, moment):
    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(school.timezone)).date()


def _record(by, user, kind, reason, report_item=None, until=None, now=None):
    action = AccountAction(school_id=user.school_id, user_id=user.id, kind=kind, reason=_clean(reason),
                           until=until, report_id=report_item.id if report_item else None,
                           created_by_id=by.id, created_at=now or utcnow())
    db.session.add(action)
    if report_item is not None:
        _resolve(report_item, by, ACTIONED, "", now or utcnow())
    db.session.flush()
    return action


def _need_reason(reason):
    if not _clean(reason):
        raise SafeguardingError(_("Write the reason: the person will read it."), "reason")


def warn(by, user, reason, report_item=None, now=None):
    """A warning is read at the user's next sign-in, before anything else. Their sessions end now,
    so that next sign-in is their next visit (a warning is looked up only when a session starts)."""
    from ..auth_session import revoke_all_sessions
    _need_reason(reason)
    action = _record(by, user, "warn", reason, report_item, now=now)
    revoke_all_sessions(user)
    audit("account.warned", "user", user.id, actor=by, school_id=user.school_id,
          detail={"action_id": action.id, "report_id": action.report_id})
    db.session.commit()
    return action


def suspend(by, user, reason, until_day, report_item=None, now=None):
    """Suspend until the morning of ``until_day`` (a date in the school's time zone). Every session
    of the user ends at its next request."""
    from ..auth_session import revoke_all_sessions
    now = now or utcnow()
    _need_reason(reason)
    if until_day is None:
        raise SafeguardingError(_("A suspension needs an end date. With no end date it is an ending: "
                                  "use \"End the account\" instead."), "until")
    until = suspension_end(user.school, until_day)
    if until <= now:
        raise SafeguardingError(_("Choose a day after today."), "until")
    action = _record(by, user, "suspend", reason, report_item, until=until, now=now)
    user.status, user.status_reason, user.suspended_until = "suspended", action.reason, until
    revoke_all_sessions(user)
    audit("account.suspended", "user", user.id, actor=by, school_id=user.school_id,
          detail={"action_id": action.id, "until": until.isoformat(), "report_id": action.report_id})
    db.session.commit()
    return action


def end_account(by, user, reason, report_item=None, now=None):
    from ..auth_session import revoke_all_sessions
    _need_reason(reason)
    action = _record(by, user, "end", reason, report_item, now=now)
    user.status, user.status_reason, user.suspended_until = "ended", action.reason, None
    revoke_all_sessions(user)
    audit("account.ended", "user", user.id, actor=by, school_id=user.school_id,
          detail={"action_id": action.id, "report_id": action.report_id})
    db.session.commit()
    return action


def reinstate(by, user, reason="", now=None):
    action = _record(by, user, "reinstate", reason, now=now)
    user.status, user.status_reason, user.suspended_until = "active", None, None
    audit("account.reinstated", "user", user.id, actor=by, school_id=user.school_id,
          detail={"action_id": action.id})
    db.session.commit()
    return action


# ---- warnings the user must read --------------------------------------------------------------

def unread_warning(user):
    return db.session.scalar(select(AccountAction).where(
        AccountAction.user_id == user.id, AccountAction.kind == "warn", AccountAction.acknowledged_at.is_(None))
        .order_by(AccountAction.created_at, AccountAction.id).limit(1))


def acknowledge_warning(user, action, now=None):
    if action.user_id != user.id or action.acknowledged_at is not None:
        return
    action.acknowledged_at = now or utcnow()
    audit("account.warning_read", "account_action", action.id, actor=user, school_id=user.school_id)
    db.session.commit()


# ---- pausing Hearth for families --------------------------------------------------------------

def pause(school, by, message, now=None):
    message = _clean(message)
    if not message:
        raise SafeguardingError(_("Write the message families will see."), "message")
    school.paused_at, school.paused_by_id, school.pause_message = now or utcnow(), by.id, message
    audit("school.paused", "school", school.id, actor=by, school_id=school.id)
    db.session.commit()


def unpause(school, by):
    school.paused_at, school.paused_by_id = None, None
    audit("school.unpaused", "school", school.id, actor=by, school_id=school.id)
    db.session.commit()


def paused_for(account, school):
    """Parents and pupils meet the pause; staff carry on."""
    return bool(school is not None and school.paused_at is not None
                and (account is None or not account.is_authenticated or not account.is_staff))
