"""Team points: categories, awarding (idempotent), undo, totals, home reading log.

Rules that span models live here; routes call one function each. Times are stored in naive UTC;
"today" and "this week" are the school's, in its time zone.
"""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import PointAward, PointCategory, Pupil, ReadingLogEntry
from ..models.base import utcnow
from ..models.points import DEFAULT_CATEGORIES, HOME_LEARNING_CATEGORY
from . import notification_events
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
    pupil_ids = [p.id for p in pupils]  # taken now: the commit below expires the objects
    existing = _existing(by, request_key, pupil_ids)
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
    if made:
        notification_events.points_awarded(by, made, pupils, now)
    try:
        db.session.commit()
    except IntegrityError:  # the same request arrived twice at the same moment: keep the first
        db.session.rollback()
    existing = _existing(by, request_key, pupil_ids)
    return [existing[pid] for pid in pupil_ids if pid in existing]


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
    done, awarded, pupils = [], [], []
    for entry in entries:
        if entry.school_id != by.school_id or not can_award_points(by, entry.pupil):
            raise PointsError(_("You can only approve reading for pupils in your classes."))
        # Claim the entry with a conditional update: two teachers approving it at the same moment
        # make one point, whatever the database's isolation level.
        claimed = db.session.execute(
            update(ReadingLogEntry)
            .where(ReadingLogEntry.id == entry.id, ReadingLogEntry.status == "pending")
            .values(status="approved" if approve else "declined", reviewed_by_id=by.id, reviewed_at=now)
            .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            continue
        if approve:
            award = PointAward(school_id=by.school_id, pupil_id=entry.pupil_id, class_id=entry.pupil.class_id,
                               team_id=entry.pupil.team_id, category_id=category.id, awarded_by_id=by.id,
                               value=category.value, needs_work=False,
                               note=entry.title[:MAX_NOTE], request_key=f"reading-{entry.id}", awarded_at=now)
            db.session.add(award)
            db.session.flush()
            db.session.execute(update(ReadingLogEntry).where(ReadingLogEntry.id == entry.id)
                               .values(award_id=award.id).execution_options(synchronize_session=False))
            awarded.append(award)
            pupils.append(entry.pupil)
        db.session.expire(entry)
        done.append(entry)
    if done:
        audit("reading.reviewed", "reading_log_entry", done[0].id, actor=by, school_id=by.school_id,
              detail={"approved": approve, "entries": [e.id for e in done]})
    if awarded:
        notification_events.points_awarded(by, awarded, pupils, now)
    db.session.commit()
    return done


def pending_reading(class_ids):
    return list(db.session.scalars(
        select(ReadingLogEntry).join(Pupil, Pupil.id == ReadingLogEntry.pupil_id)
        .where(Pupil.class_id.in_(class_ids), ReadingLogEntry.status == "pending", Pupil.status == "active")
        .order_by(ReadingLogEntry.created_at).options(db.joinedload(ReadingLogEntry.pupil))))


# ---- what a family and a pupil see; the reading queue (parents' and pupils' pages) --------------

def weeks_back(school, count, now=None):
    """The Monday of each of the last `count` school weeks, oldest first (this week last)."""
    this_monday = week_start(school_today(school, now))
    return [this_monday - timedelta(weeks=back) for back in range(count - 1, -1, -1)]


def windowed_totals(pupil_ids, windows, include_needs_work=False):
    """Each pupil's points in each time window, positive and needs-work apart, in ONE query.

    `windows` is a list of (start, end) in naive UTC; end None means "until now". Returns
    {pupil_id: [(positive, needs_work), ...]} in the order of `windows`, with zeros where nothing
    was awarded. Needs-work points stay 0 unless `include_needs_work`."""
    result = {pid: [(0, 0)] * len(windows) for pid in pupil_ids}
    if not pupil_ids or not windows:
        return result
    columns = []
    for start, end in windows:
        inside = PointAward.awarded_at >= start
        if end is not None:
            inside = db.and_(inside, PointAward.awarded_at < end)
        for needs_work in (False, True):
            columns.append(func.coalesce(func.sum(case(
                (db.and_(inside, PointAward.needs_work.is_(needs_work)), PointAward.value), else_=0)), 0))
    stmt = (select(PointAward.pupil_id, *columns)
            .where(PointAward.pupil_id.in_(pupil_ids), _counted(),
                   PointAward.awarded_at >= min(start for start, _end in windows))
            .group_by(PointAward.pupil_id))
    if not include_needs_work:
        stmt = stmt.where(PointAward.needs_work.is_(False))
    for row in db.session.execute(stmt):
        values = [int(v) for v in row[1:]]
        result[row[0]] = [(values[i], values[i + 1]) for i in range(0, len(values), 2)]
    return result


def totals_by_category(pupil_id, since, include_needs_work=False):
    """{category_id: points} for one pupil since a moment, in one query."""
    stmt = (select(PointAward.category_id, func.sum(PointAward.value))
            .where(PointAward.pupil_id == pupil_id, PointAward.awarded_at >= since, _counted())
            .group_by(PointAward.category_id))
    if not include_needs_work:
        stmt = stmt.where(PointAward.needs_work.is_(False))
    return {category_id: int(total) for category_id, total in db.session.execute(stmt)}


def class_and_team_totals(school, class_id, team_id, since):
    """(class total, team total) of positive points since a moment: totals only, never a child's
    own points. The class and team are those the pupils were in when the points were awarded."""
    if class_id is None and team_id is None:
        return 0, 0
    in_class = PointAward.class_id == class_id if class_id is not None else db.false()
    in_team = PointAward.team_id == team_id if team_id is not None else db.false()
    row = db.session.execute(
        select(func.coalesce(func.sum(case((in_class, PointAward.value), else_=0)), 0),
               func.coalesce(func.sum(case((in_team, PointAward.value), else_=0)), 0))
        .where(PointAward.school_id == school.id, PointAward.awarded_at >= since, _counted(),
               PointAward.needs_work.is_(False), db.or_(in_class, in_team))).one()
    return int(row[0]), int(row[1])


def reading_entries(pupil_id, limit=30):
    """A child's reading log, newest first, for their family."""
    return list(db.session.scalars(
        select(ReadingLogEntry).where(ReadingLogEntry.pupil_id == pupil_id)
        .order_by(ReadingLogEntry.read_on.desc(), ReadingLogEntry.id.desc()).limit(limit)))


def _reading_scope(by):
    """Pending entries a member of staff reviews: their classes' pupils; senior leaders and the
    head: the whole school (the same reach as `can_award_points`)."""
    from ..models import class_teachers
    stmt = (select(ReadingLogEntry).join(Pupil, Pupil.id == ReadingLogEntry.pupil_id)
            .where(ReadingLogEntry.school_id == by.school_id, Pupil.school_id == by.school_id,
                   ReadingLogEntry.status == "pending", Pupil.status == "active"))
    if not by.is_senior:
        stmt = stmt.where(Pupil.class_id.in_(
            select(class_teachers.c.class_id).where(class_teachers.c.user_id == by.id)))
    return stmt


def reading_queue(by, limit=200):
    """The oldest pending entries `by` may approve, with each pupil and class loaded."""
    stmt = (_reading_scope(by).order_by(ReadingLogEntry.created_at, ReadingLogEntry.id).limit(limit)
            .options(db.joinedload(ReadingLogEntry.pupil).joinedload(Pupil.school_class)))
    return list(db.session.scalars(stmt))


def reading_waiting_count(by):
    return db.session.scalar(select(func.count()).select_from(_reading_scope(by).subquery())) or 0


# ---- the class screen; managing the school's categories (the points blueprint) ------------------

def class_board(school_class, now=None):
    """A class's active pupils (by name, teams loaded) and each one's positive points today.
    Two queries, whatever the history: the class screen may be shown to the class on a board."""
    from sqlalchemy.orm import selectinload
    pupils = list(db.session.scalars(
        select(Pupil).where(Pupil.class_id == school_class.id, Pupil.school_id == school_class.school_id,
                            Pupil.status == "active")
        .options(selectinload(Pupil.team)).order_by(Pupil.display_name, Pupil.id)))
    today_start, _week = periods(school_class.school, now)
    return pupils, totals_by_pupil([p.id for p in pupils], since=today_start)


def pupils_by_ids(school, pupil_ids):
    """Pupils of one school by id, in the order given; ids of other schools count as unknown."""
    ids = list(dict.fromkeys(pupil_ids))
    if not ids:
        return []
    found = {p.id: p for p in db.session.scalars(
        select(Pupil).where(Pupil.school_id == school.id, Pupil.id.in_(ids)))}
    if len(found) != len(ids):
        raise PointsError(_("We could not find one of those pupils. Reload the page and try again."))
    return [found[i] for i in ids]


CATEGORY_KINDS = ("positive", "needs_work")
MAX_CATEGORY_VALUE = 5


class CategoryError(PointsError):
    """A category's details were wrong; `field` names the form field the message belongs to."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def _checked_category(school, name, icon, value, kind, category=None):
    from ..models.points import CATEGORY_ICONS
    name = " ".join((name or "").split())
    if not name:
        raise CategoryError(_("Enter the category's name."), "name")
    if len(name) > 80:
        raise CategoryError(_("Use at most %(num)d characters.", num=80), "name")
    if icon not in CATEGORY_ICONS:
        raise CategoryError(_("Choose an icon."), "icon")
    if not isinstance(value, int) or not 1 <= value <= MAX_CATEGORY_VALUE:
        raise CategoryError(_("Enter how many points it gives, from 1 to %(num)d.", num=MAX_CATEGORY_VALUE),
                            "value")
    if kind not in CATEGORY_KINDS:
        raise CategoryError(_("Choose the kind of category."), "kind")
    clash = select(PointCategory.id).where(PointCategory.school_id == school.id,
                                           func.lower(PointCategory.name) == name.lower())
    if category is not None:
        clash = clash.where(PointCategory.id != category.id)
    if db.session.scalar(clash.limit(1)) is not None:
        raise CategoryError(_("There is already a category called %(name)s.", name=name), "name")
    return name


def add_category(school, by, name, icon, value, kind):
    """A new category, placed last."""
    name = _checked_category(school, name, icon, value, kind)
    last = db.session.scalar(select(func.max(PointCategory.position)).where(PointCategory.school_id == school.id))
    category = PointCategory(school_id=school.id, name=name, icon=icon, value=value, kind=kind,
                             position=0 if last is None else last + 1)
    db.session.add(category)
    db.session.flush()
    audit("points.category_added", "point_category", category.id, actor=by, school_id=school.id,
          detail={"name": name, "icon": icon, "value": value, "kind": kind})
    db.session.commit()
    return category


def update_category(category, by, name, icon, value, kind):
    """Change a category. Awards keep the value and kind they were given with."""
    from ..models import School
    school = db.session.get(School, category.school_id)
    name = _checked_category(school, name, icon, value, kind, category)
    changes = {}
    for attr, new in (("name", name), ("icon", icon), ("value", value), ("kind", kind)):
        old = getattr(category, attr)
        if old != new:
            changes[attr] = [old, new]
            setattr(category, attr, new)
    if changes:
        audit("points.category_changed", "point_category", category.id, actor=by,
              school_id=category.school_id, detail=changes)
        db.session.commit()
    return category


def move_category(category, by, direction):
    """Swap a category with its neighbour ("up" or "down"); positions are renumbered 0, 1, 2..."""
    ordered = list(db.session.scalars(select(PointCategory).where(PointCategory.school_id == category.school_id)
                                      .order_by(PointCategory.position, PointCategory.id)))
    here = ordered.index(category)
    there = here - 1 if direction == "up" else here + 1
    if direction not in ("up", "down") or not 0 <= there < len(ordered):
        return category
    ordered[here], ordered[there] = ordered[there], ordered[here]
    for position, each in enumerate(ordered):
        each.position = position
    audit("points.category_moved", "point_category", category.id, actor=by, school_id=category.school_id,
          detail={"direction": direction, "position": there})
    db.session.commit()
    return category


def retire_category(category, by, now=None):
    """No longer offered for awarding; its awards and totals stay."""
    if category.retired_at is None:
        category.retired_at = now or utcnow()
        audit("points.category_retired", "point_category", category.id, actor=by,
              school_id=category.school_id, detail={"name": category.name})
        db.session.commit()
    return category


def restore_category(category, by):
    if category.retired_at is not None:
        category.retired_at = None
        audit("points.category_restored", "point_category", category.id, actor=by,
              school_id=category.school_id, detail={"name": category.name})
        db.session.commit()
    return category


def set_needs_work(school, by, enabled):
    """Turn the school's needs-work categories on or off (off by default: SECURITY.md 23)."""
    enabled = bool(enabled)
    if school.needs_work_enabled != enabled:
        school.needs_work_enabled = enabled
        audit("points.needs_work_changed", "school", school.id, actor=by, school_id=school.id,
              detail={"enabled": enabled})
        db.session.commit()
    return school
