"""Team points: categories, awarding (idempotent), undo, totals, home reading log.

Rules that span models live here; routes call one function each. Times are stored in naive UTC;
"today" and "this week" are the school's, in its time zone.
"""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import PointAward, PointCategory, Pupil, ReadingLogEntry
from ..models.base import utcnow
from ..models.points import DEFAULT_CATEGORIES, HOME_LEARNING_CATEGORY
from .audit import audit

UNDO_WINDOW = timedelta(minutes=5)
MAX_NOTE = 140
MAX_READING_MINUTES = 300


class PointsError(ValueError):
    """A rule was broken; the message is for the user, in their language."""


# ---- categories --------------------------------------------------------------------------------

def ensure_default_categories(school):
    """The policy's five categories (and one "needs work" example, off until the school turns it on)."""
    exists = db.session.scalar(select(PointCategory.id).where(PointCategory.school_id == school.id).limit(1))
    if exists is not None:
        return
    for position, (name, icon, value, kind) in enumerate(DEFAULT_CATEGORIES):
        db.session.add(PointCategory(school_id=school.id, name=name, icon=icon, value=value, kind=kind,
                                     position=position, home_learning=(name == HOME_LEARNING_CATEGORY)))
    db.session.flush()


def categories(school, include_retired=False, kinds=None):
    """The school's categories in the head's order. `kinds` defaults to what the school uses."""
    if kinds is None:
        kinds = ("positive", "needs_work") if school.needs_work_enabled else ("positive",)
    stmt = (select(PointCategory).where(PointCategory.school_id == school.id, PointCategory.kind.in_(kinds))
            .order_by(PointCategory.position, PointCategory.id))
    if not include_retired:
        stmt = stmt.where(PointCategory.retired_at.is_(None))
    return list(db.session.scalars(stmt))


def home_learning_category(school):
    return db.session.scalar(select(PointCategory).where(
        PointCategory.school_id == school.id, PointCategory.home_learning.is_(True),
        PointCategory.retired_at.is_(None)).order_by(PointCategory.position).limit(1))


# ---- time -----------------------------------------------------------------------------------------

def school_today(school, now=None):
    now = now or utcnow()
    return now.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(school.timezone)).date()


def utc_start_of(school, day):
    """The first moment of a school day, as naive UTC."""
    local = datetime.combine(day, time.min, ZoneInfo(school.timezone))
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def week_start(day):
    return day - timedelta(days=day.weekday())


def periods(school, now=None):
    """(today_start, week_start) as naive UTC for this school."""
    today = school_today(school, now)
    return utc_start_of(school, today), utc_start_of(school, week_start(today))


# ---- awarding -----------------------------------------------------------------------------------

def award_points(by, pupils, category, request_key, note=None, now=None):
    """Award `category` to each pupil. The same (awarder, request_key, pupil) counts once: a double
    tap or a retried request returns the first awards. Returns the awards, in pupil order."""
    from ..policies import can_award_points
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE:
        raise PointsError(_("Keep the note to %(num)d characters.", num=MAX_NOTE))
    if not request_key or len(request_key) > 64:
        raise PointsError(_("This page is out of date. Reload it and try again."))
    school = by.school
    if category is None or category.school_id != by.school_id or category.retired:
        raise PointsError(_("That category is not in use any more. Choose another."))
    if category.needs_work and not school.needs_work_enabled:
        raise PointsError(_("That category is not in use any more. Choose another."))
    pupils = list(pupils)
    if not pupils:
        raise PointsError(_("Choose at least one pupil."))
    for pupil in pupils:
        if pupil.status != "active" or not can_award_points(by, pupil):
            raise PointsError(_("You can only award points to pupils in your classes."))
    now = now or utcnow()
    existing = _existing(by, request_key, [p.id for p in pupils])
    made = []
    for pupil in pupils:
        if pupil.id in existing:
            continue
        award = PointAward(school_id=by.school_id, pupil_id=pupil.id, class_id=pupil.class_id,
                           team_id=pupil.team_id, category_id=category.id, awarded_by_id=by.id,
                           value=category.value, needs_work=category.needs_work, note=note,
                           request_key=request_key, awarded_at=now)
        db.session.add(award)
        made.append(award)
    try:
        db.session.commit()
    except IntegrityError:  # the same request arrived twice at the same moment: keep the first
        db.session.rollback()
    existing = _existing(by, request_key, [p.id for p in pupils])
    return [existing[p.id] for p in pupils if p.id in existing]


def _existing(by, request_key, pupil_ids):
    rows = db.session.scalars(select(PointAward).where(
        PointAward.awarded_by_id == by.id, PointAward.request_key == request_key,
        PointAward.pupil_id.in_(pupil_ids)))
    return {a.pupil_id: a for a in rows}


def awards_for_key(by, request_key):
    return list(db.session.scalars(select(PointAward).where(
        PointAward.awarded_by_id == by.id, PointAward.request_key == request_key)))


def undo_awards(by, request_key, now=None):
    """Undo the awards made by one request: recorded (undone_at, undone_by), never deleted."""
    now = now or utcnow()
    awards = awards_for_key(by, request_key)
    if not awards:
        raise PointsError(_("There is nothing to undo."))
    if any(now - a.awarded_at > UNDO_WINDOW for a in awards):
        raise PointsError(_("It is too late to undo these points."))
    for award in awards:
        if award.undone_at is None:
            award.undone_at = now
            award.undone_by_id = by.id
    audit("points.undone", "point_award", awards[0].id, actor=by, school_id=by.school_id,
          detail={"count": len(awards), "request_key": request_key})
    db.session.commit()
    return awards


# ---- totals ---------------------------------------------------------------------------------------

def _counted():
    return PointAward.undone_at.is_(None)


def totals_by_pupil(pupil_ids, since=None, include_needs_work=False):
    """{pupil_id: points} in one query (needs-work points subtract when included)."""
    if not pupil_ids:
        return {}
    value = case((PointAward.needs_work.is_(True), -PointAward.value), else_=PointAward.value)
    stmt = (select(PointAward.pupil_id, func.coalesce(func.sum(value), 0))
            .where(PointAward.pupil_id.in_(pupil_ids), _counted()).group_by(PointAward.pupil_id))
    if since is not None:
        stmt = stmt.where(PointAward.awarded_at >= since)
    if not include_needs_work:
        stmt = stmt.where(PointAward.needs_work.is_(False))
    return {pid: int(total) for pid, total in db.session.execute(stmt)}


def recent_awards(pupil_id, since, include_needs_work=False, limit=50):
    stmt = (select(PointAward).where(PointAward.pupil_id == pupil_id, PointAward.awarded_at >= since, _counted())
            .order_by(PointAward.awarded_at.desc()).limit(limit)
            .options(db.joinedload(PointAward.category), db.joinedload(PointAward.awarded_by)))
    if not include_needs_work:
        stmt = stmt.where(PointAward.needs_work.is_(False))
    return list(db.session.scalars(stmt))


def latest_change(pupil_ids):
    """A marker that changes whenever a pupil's points change (an award or an undo): for live updates."""
    if not pupil_ids:
        return "0"
    row = db.session.execute(select(func.max(PointAward.id), func.max(PointAward.undone_at), func.count())
                             .where(PointAward.pupil_id.in_(pupil_ids))).one()
    return f"{row[0] or 0}-{row[2]}-{row[1].timestamp() if row[1] else 0:.0f}"


# ---- home reading log -------------------------------------------------------------------------------

def log_reading(parent, pupil, read_on, minutes, title, request_key=None, today=None):
    from ..policies import can_view_pupil
    if not (parent.is_parent and can_view_pupil(parent, pupil)):
        raise PointsError(_("You can only record reading for your own children."))
    today = today or school_today(pupil.school)
    errors = {}
    if read_on is None:
        errors["read_on"] = _("Enter the date of the reading.")
    elif read_on > today:
        errors["read_on"] = _("The date cannot be in the future.")
    elif read_on < today - timedelta(days=31):
        errors["read_on"] = _("Record reading from the last month only.")
    if minutes is None or minutes < 1 or minutes > MAX_READING_MINUTES:
        errors["minutes"] = _("Enter the minutes read, from 1 to %(num)d.", num=MAX_READING_MINUTES)
    title = (title or "").strip()
    if not title:
        errors["title"] = _("Say what was read, for example the book's title.")
    elif len(title) > 200:
        errors["title"] = _("Use at most %(num)d characters.", num=200)
    if errors:
        raise ReadingLogError(errors)
    if request_key:
        earlier = db.session.scalar(select(ReadingLogEntry).where(ReadingLogEntry.request_key == request_key))
        if earlier is not None:
            return earlier
    entry = ReadingLogEntry(school_id=pupil.school_id, pupil_id=pupil.id, parent_id=parent.id, read_on=read_on,
                            minutes=minutes, title=title, request_key=request_key)
    db.session.add(entry)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return db.session.scalar(select(ReadingLogEntry).where(ReadingLogEntry.request_key == request_key))
    return entry


class ReadingLogError(PointsError):
    def __init__(self, errors):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def review_reading(by, entries, approve=True, now=None):
    """Approve entries into points of the home-learning category (or decline them)."""
    from ..policies import can_award_points
    now = now or utcnow()
    category = home_learning_category(by.school)
    if approve and category is None:
        raise PointsError(_("The school has no category for reading at home."))
    done = []
    for entry in entries:
        if entry.school_id != by.school_id or not can_award_points(by, entry.pupil):
            raise PointsError(_("You can only approve reading for pupils in your classes."))
        if entry.status != "pending":
            continue
        entry.status = "approved" if approve else "declined"
        entry.reviewed_by_id = by.id
        entry.reviewed_at = now
        if approve:
            award = PointAward(school_id=by.school_id, pupil_id=entry.pupil_id, class_id=entry.pupil.class_id,
                               team_id=entry.pupil.team_id, category_id=category.id, awarded_by_id=by.id,
                               value=category.value, needs_work=False,
                               note=entry.title[:MAX_NOTE], request_key=f"reading-{entry.id}", awarded_at=now)
            db.session.add(award)
            db.session.flush()
            entry.award_id = award.id
        done.append(entry)
    db.session.commit()
    return done


def pending_reading(class_ids):
    return list(db.session.scalars(
        select(ReadingLogEntry).join(Pupil, Pupil.id == ReadingLogEntry.pupil_id)
        .where(Pupil.class_id.in_(class_ids), ReadingLogEntry.status == "pending", Pupil.status == "active")
        .order_by(ReadingLogEntry.created_at).options(db.joinedload(ReadingLogEntry.pupil))))


