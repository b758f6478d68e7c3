"""Team points reports: periods, totals per pupil, class, team and category, CSV export, team totals.

Each report is a fixed handful of queries: the awards are summed by the database in one grouped
query, so the number of queries does not grow with the number of awards, and the rows returned
are at most pupils x categories. Needs-work points are kept apart from the positive total and are
left out entirely unless the school has turned them on. Undone awards never count.
Team totals (polled by the assembly display) keep the sums of awards that can no longer be undone
in a small per-process cache, so that a display open all day does not sum the whole term a minute.
"""
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import and_, case, func, or_, select

from ..extensions import db
from ..models import PointAward, PointCategory, Pupil, SchoolClass, Team, class_teachers
from ..models.base import utcnow
from .audit import audit
from .points import UNDO_WINDOW, school_today, utc_start_of
from .school_calendar import current_academic_year

PERIODS = ("week", "half_term", "term", "year", "custom")
FIRST_REPORT_YEAR = 2000
LAST_REPORT_YEAR = 2100
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# ---- periods --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Term:
    name: str  # autumn, spring, summer
    first: date
    last: date
    second_half_starts: date


def _last_monday(year, month):
    day = (date(year, month + 1, 1) if month < 12 else date(year + 1, 1, 1)) - timedelta(days=1)
    return day - timedelta(days=day.weekday())


def _third_monday(year, month):
    first = date(year, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7 + 14)


def approximate_terms(academic_year):
    """The three terms of an English school year, approximated until the school enters its own
    term dates (another part of Hearth). Each term is split into two half-terms:

    - autumn: 1 September to 31 December; the second half starts on the last Monday of October;
    - spring: 1 January to 31 March; the second half starts on the third Monday of February;
    - summer: 1 April to 31 August; the second half starts on the last Monday of May.

    The holidays fall inside these spans, so every day of the year belongs to exactly one term.
    """
    y, n = academic_year, academic_year + 1
    return [
        Term("autumn", date(y, 9, 1), date(y, 12, 31), _last_monday(y, 10)),
        Term("spring", date(n, 1, 1), date(n, 3, 31), _third_monday(n, 2)),
        Term("summer", date(n, 4, 1), date(n, 8, 31), _last_monday(n, 5)),
    ]


@dataclass(frozen=True)
class Period:
    kind: str  # one of PERIODS
    first: date  # inclusive, in the school's time zone
    last: date  # inclusive
    approximate: bool = False  # from approximate_terms, not the school's own dates

    def bounds(self, school):
        """[start, end) as naive UTC: the school's midnights around the period."""
        return utc_start_of(school, self.first), utc_start_of(school, self.last + timedelta(days=1))


def period_for(kind, today, first=None, last=None):
    """The period of `kind` that contains `today` (a date in the school's time zone)."""
    if kind == "custom":
        return Period("custom", first, last)
    if kind == "week":
        monday = today - timedelta(days=today.weekday())
        return Period("week", monday, monday + timedelta(days=6))
    year = current_academic_year(today)
    if kind == "year":
        return Period("year", date(year, 9, 1), date(year + 1, 8, 31))
    term = next(t for t in approximate_terms(year) if t.first <= today <= t.last)
    if kind == "term":
        return Period("term", term.first, term.last, approximate=True)
    if kind == "half_term":
        if today < term.second_half_starts:
            return Period("half_term", term.first, term.second_half_starts - timedelta(days=1), True)
        return Period("half_term", term.second_half_starts, term.last, True)
    raise ValueError(f"unknown period {kind!r}")


# ---- who may report on what -----------------------------------------------------------------------

def sees_whole_school(account):
    return bool(account.is_authenticated and account.is_staff and account.is_senior)


def report_classes(account, today=None):
    """The classes of this academic year a member of staff may report on: a teacher's own classes;
    every class of the school for senior leaders and the head."""
    today = today or school_today(account.school)
    stmt = (select(SchoolClass)
            .where(SchoolClass.school_id == account.school_id,
                   SchoolClass.academic_year == current_academic_year(today),
                   SchoolClass.archived_at.is_(None))
            .order_by(SchoolClass.year_group, SchoolClass.name))
    if not sees_whole_school(account):
        stmt = stmt.join(class_teachers, class_teachers.c.class_id == SchoolClass.id).where(
            class_teachers.c.user_id == account.id)
    return list(db.session.scalars(stmt))


# ---- the points report ------------------------------------------------------------------------------

@dataclass
class Line:
    """One row of a report table: a pupil, a class or a team, with its totals."""
    label: str
    obj: object = None
    class_name: str = ""
    team: object = None
    total: int = 0
    needs_work_total: int = 0
    by_category: dict = field(default_factory=dict)

    def add(self, category_id, needs_work, amount):
        if needs_work:
            self.needs_work_total += amount
        else:
            self.total += amount
        self.by_category[category_id] = self.by_category.get(category_id, 0) + amount


@dataclass
class PointsReport:
    school: object
    period: Period
    school_class: object  # None: the whole school
    categories: list  # positive categories, as columns
    needs_work_categories: list  # empty unless the school uses needs-work points
    show_needs_work: bool
    pupils: list  # [Line] (empty for the whole school unless asked for)
    classes: list  # [Line] (whole school only)
    teams: list  # [Line], every team of the school, then "no team" when it has points
    totals: Line  # the class's or the school's total, with per-category totals


def points_report(by, kind, first=None, last=None, school_class=None, with_pupils=None, now=None):
    """Totals over a period for one class (its current pupils' points earned in it) or, for senior
    leaders, the whole school. `by` has already been allowed to see `school_class` by the caller."""
    school = by.school
    period = period_for(kind, school_today(school, now), first, last)
    if with_pupils is None:
        with_pupils = school_class is not None
    show_needs_work = bool(school.needs_work_enabled)
    start, end = period.bounds(school)

    categories = list(db.session.scalars(
        select(PointCategory).where(PointCategory.school_id == school.id)
        .order_by(PointCategory.position, PointCategory.id)))
    teams = list(db.session.scalars(select(Team).where(Team.school_id == school.id).order_by(Team.name)))

    pupils = []
    if school_class is not None:
        pupils = list(db.session.scalars(
            select(Pupil).where(Pupil.school_id == school.id, Pupil.class_id == school_class.id,
                                Pupil.status == "active")
            .order_by(Pupil.display_name, Pupil.id)))

    # Per pupil only when pupils are listed: the whole school's page needs classes and teams only.
    keys = [PointAward.class_id, PointAward.team_id, PointAward.category_id, PointAward.needs_work]
    if with_pupils:
        keys.append(PointAward.pupil_id)
    stmt = (select(func.sum(PointAward.value), *keys)
            .where(PointAward.awarded_at >= start, PointAward.awarded_at < end, PointAward.undone_at.is_(None))
            .group_by(*keys))
    if not show_needs_work:
        stmt = stmt.where(PointAward.needs_work.is_(False))
    if school_class is not None:
        # The pupils were found in this school. Leaving school_id out of this query lets the database
        # use the (pupil, time) index and read only this class's awards in the period, not the school's.
        stmt = stmt.where(PointAward.pupil_id.in_([p.id for p in pupils]),
                          PointAward.class_id == school_class.id)
    else:
        stmt = stmt.where(PointAward.school_id == school.id)
    rows = db.session.execute(stmt).all()

    classes = []
    if school_class is None:
        class_ids = {r[1] for r in rows if r[1] is not None}
        classes = list(db.session.scalars(
            select(SchoolClass).where(SchoolClass.school_id == school.id, or_(
                SchoolClass.id.in_(class_ids),
                and_(SchoolClass.academic_year == current_academic_year(period.last),
                     SchoolClass.archived_at.is_(None))))
            .order_by(SchoolClass.year_group, SchoolClass.name)))
        if with_pupils:
            pupil_ids = {r[5] for r in rows}
            pupils = list(db.session.scalars(
                select(Pupil).where(Pupil.school_id == school.id, or_(
                    Pupil.id.in_(pupil_ids), and_(Pupil.status == "active", Pupil.class_id.is_not(None))))
                .order_by(Pupil.display_name, Pupil.id)))

    class_names = {c.id: c.name for c in classes}
    if school_class is not None:
        class_names[school_class.id] = school_class.name
    team_by_id = {t.id: t for t in teams}
    pupil_lines = {p.id: Line(p.display_name, p, class_names.get(p.class_id, ""), team_by_id.get(p.team_id))
                   for p in pupils}
    class_lines = {c.id: Line(c.name, c) for c in classes}
    team_lines = {t.id: Line(t.name, t, team=t) for t in teams}
    totals = Line(school_class.name if school_class is not None else school.name, school_class)
    used = set()
    for amount, class_id, team_id, category_id, needs_work, *pupil in rows:
        amount, pupil_id = int(amount or 0), (pupil[0] if pupil else None)
        used.add(category_id)
        totals.add(category_id, needs_work, amount)
        if pupil_id in pupil_lines:
            pupil_lines[pupil_id].add(category_id, needs_work, amount)
        if school_class is None:
            class_lines.setdefault(class_id, Line("", None)).add(category_id, needs_work, amount)
        # Points of pupils without a team (or of a team since removed) go to a "no team" line.
        team_lines.setdefault(team_id if team_id in team_by_id else None, Line("", None)).add(
            category_id, needs_work, amount)

    # Retired categories stay as columns only while they have points in the period.
    shown = [c for c in categories if not c.retired or c.id in used]
    positive = [c for c in shown if not c.needs_work]
    needs_work = [c for c in shown if c.needs_work] if show_needs_work else []
    return PointsReport(
        school=school, period=period, school_class=school_class, categories=positive,
        needs_work_categories=needs_work, show_needs_work=show_needs_work,
        pupils=[pupil_lines[p.id] for p in pupils],
        classes=[class_lines[c.id] for c in classes] + ([class_lines[None]] if None in class_lines else []),
        teams=[team_lines[t.id] for t in teams] + ([team_lines[None]] if None in team_lines else []),
        totals=totals)


# ---- CSV export -------------------------------------------------------------------------------------

def safe_cell(value):
    """A spreadsheet cell that cannot run as a formula (OWASP "CSV injection"): text starting
    with = + - @, a tab or a carriage return gets a leading apostrophe. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def report_csv(report, labels):
    """The per-pupil table as CSV text, with a byte-order mark so that Excel reads it as UTF-8.
    `labels` names the fixed columns and the "no team" row, in the reader's language."""
    out = io.StringIO()
    writer = csv.writer(out)
    header = [labels["pupil"], labels["class"], labels["team"], labels["total"]]
    header += [c.name for c in report.categories]
    if report.show_needs_work:
        header += [labels["needs_work_total"]] + [c.name for c in report.needs_work_categories]
    writer.writerow([safe_cell(h) for h in header])
    for line in report.pupils:
        row = [line.label, line.class_name, line.team.name if line.team else "", line.total]
        row += [line.by_category.get(c.id, 0) for c in report.categories]
        if report.show_needs_work:
            row += [line.needs_work_total] + [line.by_category.get(c.id, 0) for c in report.needs_work_categories]
        writer.writerow([safe_cell(cell) for cell in row])
    return "\ufeff" + out.getvalue()


def csv_filename(report):
    if report.school_class is None:
        scope = "whole-school"
    else:
        scope = re.sub(r"[^A-Za-z0-9]+", "-", report.school_class.name).strip("-").lower() or "class"
    return f"team-points-{scope}-{report.period.first.isoformat()}-to-{report.period.last.isoformat()}.csv"


def export_points_csv(by, labels, kind, first=None, last=None, school_class=None, now=None):
    """The report as CSV for `by`: (file name, text). The export is recorded in the audit log."""
    report = points_report(by, kind, first, last, school_class, with_pupils=True, now=now)
    filename, text = csv_filename(report), report_csv(report, labels)
    audit("reports.points_exported", "school_class" if school_class is not None else "school",
          school_class.id if school_class is not None else by.school_id, actor=by, school_id=by.school_id,
          detail={"period": kind, "first": report.period.first.isoformat(),
                  "last": report.period.last.isoformat(), "pupils": len(report.pupils)}, commit=True)
    return filename, text


# ---- team (house) totals --------------------------------------------------------------------------

@dataclass
class TeamTotals:
    teams: list  # the school's teams, by name
    week: Period
    term: Period
    school: dict  # {team_id: (this week, this term)}; None = pupils without a team
    classes: list  # [(school_class, {team_id: (week, term)})] for the classes `by` may see


# Awards older than this can no longer change: undo is refused after UNDO_WINDOW (plus a margin for
# a request that took its time to commit). Their team sums are kept, per process, between requests.
SETTLE_AFTER = UNDO_WINDOW + timedelta(minutes=5)
# ... and rebuilt from scratch at least this often, to pick up any change made outside award/undo
# (a pupil's records erased, points history imported).
SETTLED_MAX_AGE = timedelta(minutes=10)


def _team_rows(school_id, since, until, week, term):
    """{(class_id, team_id): (week points, term points)} of the awards in [since, until)."""
    in_week = and_(PointAward.awarded_at >= week[0], PointAward.awarded_at < week[1])
    in_term = and_(PointAward.awarded_at >= term[0], PointAward.awarded_at < term[1])
    rows = db.session.execute(
        select(PointAward.class_id, PointAward.team_id,
               func.sum(case((in_week, PointAward.value), else_=0)),
               func.sum(case((in_term, PointAward.value), else_=0)))
        .where(PointAward.school_id == school_id, PointAward.undone_at.is_(None),
               PointAward.needs_work.is_(False),
               PointAward.awarded_at >= since, PointAward.awarded_at < until)
        .group_by(PointAward.class_id, PointAward.team_id))
    return {(c, t): (int(w or 0), int(n or 0)) for c, t, w, n in rows}


def _merged(a, b):
    out = dict(a)
    for key, (w, t) in b.items():
        w0, t0 = out.get(key, (0, 0))
        out[key] = (w0 + w, t0 + t)
    return out


def _team_sums(school, week, term, now):
    """Team sums per class over this week and this term, in two small queries on most requests:
    the settled part (awards that can no longer be undone) comes from a per-process cache and is
    topped up with the awards that settled since; the last few minutes are always read afresh.
    A display polled all day long does not sum the whole term every minute."""
    week, term = week.bounds(school), term.bounds(school)
    since, end = min(week[0], term[0]), max(week[1], term[1])
    settled_until = max(since, min(now - SETTLE_AFTER, end))
    cache = current_app.extensions.setdefault("hearth_team_sums", {})
    entry = cache.get(school.id)
    if (entry is None or entry["key"] != (week, term) or now - entry["built"] >= SETTLED_MAX_AGE
            or entry["until"] > settled_until):
        entry = {"key": (week, term), "built": now, "until": since, "sums": {}}
    sums = _merged(entry["sums"], _team_rows(school.id, entry["until"], settled_until, week, term))
    cache[school.id] = {**entry, "until": settled_until, "sums": sums}  # replaced whole: thread-safe
    return _merged(sums, _team_rows(school.id, settled_until, end, week, term))


def team_totals(by, with_classes=True, now=None):
    """This week's and this term's positive points per team, for the whole school and per class
    (the class the pupil was in when the point was awarded). Needs-work points never count
    towards a team. Points of pupils without a team (or of a team since removed) are under None."""
    school = by.school
    now = now or utcnow()
    today = school_today(school, now)
    week, term = period_for("week", today), period_for("term", today)
    sums = _team_sums(school, week, term, now)
    teams = list(db.session.scalars(select(Team).where(Team.school_id == school.id).order_by(Team.name)))
    known = {t.id for t in teams}
    whole = {t.id: (0, 0) for t in teams}
    per_class = {}
    for (class_id, team_id), numbers in sums.items():
        team_id = team_id if team_id in known else None
        whole = _merged(whole, {team_id: numbers})
        per_class[class_id] = _merged(per_class.get(class_id, {}), {team_id: numbers})
    classes = []
    if with_classes:
        classes = [(c, per_class.get(c.id, {})) for c in report_classes(by, today)]
    return TeamTotals(teams=teams, week=week, term=term, school=whole, classes=classes)
