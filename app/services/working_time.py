"""Working time: the school calendar, staff hours, quiet hours and the 48-hour reply promise.

Three layers, kept apart:

- **Pure rules** (``SchoolCalendar``, ``StaffWeek``, ``working_window``, ``in_quiet_hours``,
  ``next_working_start``, ``expected_reply_by``): functions of the time now, the school calendar
  and the staff member's week. No database, no request. Instants in and out are aware UTC
  datetimes; a naive datetime is taken as UTC (the database stores naive UTC).
- **Loaders** (``calendar_for``, ``staff_week_for``, ``away_for``, ``quiet_notice``): build those
  values from the database, one query each.
- **Writes** for the calendar screens: term dates and closures (one by one or from a CSV), the
  school's working days and hours, a staff member's own hours and away periods. Each write is
  audited and committed here; nothing reads ``request`` or ``session``.
"""
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import format_date, format_time
from flask_babel import gettext as _
from sqlalchemy import delete, select

from ..extensions import db
from ..models.calendar import (
    CLOSURE_KINDS,
    ENTRY_KINDS,
    KIND_BANK_HOLIDAY,
    KIND_HOLIDAY,
    KIND_INSET,
    KIND_TERM,
    MAX_AWAY_NOTE,
    MAX_ENTRY_NAME,
    CalendarEntry,
    StaffAway,
    StaffHours,
)
from .audit import audit
from .school_calendar import current_academic_year

REPLY_HOURS = 48
SEARCH_DAYS = 400  # how far ahead to look for a working day before giving up
DEFAULT_ZONE = "Europe/London"
ALL_WEEKDAYS = tuple(range(7))


# ==== pure rules ====================================================================================

def as_utc(moment):
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def zone(name):
    """The time zone called ``name``; Europe/London when the name is not a known zone."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def _within(day, ranges):
    return any(first <= day <= last for first, last in ranges)


@dataclass
class SchoolCalendar:
    """The school's year as the rules need it.

    ``working_days`` are weekday numbers (0 = Monday); ``terms`` and ``closures`` are lists of
    (first day, last day), both included. Closures are holidays (half-terms too), INSET days and
    bank holidays.
    """
    tz: ZoneInfo
    working_days: frozenset = frozenset({0, 1, 2, 3, 4})
    day_starts: time = time(8, 0)
    day_ends: time = time(17, 30)
    terms: list = field(default_factory=list)
    closures: list = field(default_factory=list)

    def __post_init__(self):
        if isinstance(self.tz, str):
            self.tz = zone(self.tz)
        self.working_days = frozenset(self.working_days)

    @property
    def has_terms(self):
        return bool(self.terms)

    def is_school_day(self, day):
        """A working weekday, inside a term, and not in a closure.

        A school that has entered no term at all has every working weekday (outside closures) as
        a school day: the calendar is simply not set up yet.
        """
        if day.weekday() not in self.working_days or _within(day, self.closures):
            return False
        return _within(day, self.terms) if self.terms else True

    def local_date(self, moment):
        return as_utc(moment).astimezone(self.tz).date()

    def local_midnight(self, day):
        """The UTC instant at which ``day`` starts in the school's time zone."""
        return datetime.combine(day, time(0), self.tz).astimezone(UTC)


@dataclass
class StaffWeek:
    """A staff member's working days: weekday -> (starts, ends), in the school's local time."""
    hours: dict = field(default_factory=dict)

    @classmethod
    def school_default(cls, cal):
        """Someone with no hours of their own works the school's hours on all its working days."""
        return cls({day: (cal.day_starts, cal.day_ends) for day in cal.working_days})

    @classmethod
    def from_rows(cls, rows, cal):
        """Rows of (weekday, starts, ends), clipped to the school's days and hours. No rows means the
        school's default week; rows that clipping empties (the school changed its days or hours
        since) leave those days out, even all of them: the member of staff is then never working."""
        rows = list(rows)
        if not rows:
            return cls.school_default(cal)
        hours = {}
        for weekday, starts, ends in rows:
            starts, ends = max(starts, cal.day_starts), min(ends, cal.day_ends)
            if weekday in cal.working_days and starts < ends:
                hours[weekday] = (starts, ends)
        return cls(hours)


def working_window(day, cal, week):
    """(start, end) in UTC of the staff member's working hours on local ``day``, or None.

    None on a day that is not a school day, not one of their days, or has no time left after
    clipping to the school's hours (or a clock change swallows it).
    """
    if not cal.is_school_day(day):
        return None
    hours = week.hours.get(day.weekday())
    if hours is None:
        return None
    starts, ends = max(hours[0], cal.day_starts), min(hours[1], cal.day_ends)
    start = datetime.combine(day, starts, cal.tz).astimezone(UTC)
    end = datetime.combine(day, ends, cal.tz).astimezone(UTC)
    return (start, end) if start < end else None


def in_quiet_hours(now, cal, week):
    """True outside the staff member's working window of the local day (start included, end not)."""
    now = as_utc(now)
    window = working_window(cal.local_date(now), cal, week)
    return window is None or not window[0] <= now < window[1]


def next_working_start(now, cal, week):
    """When the staff member is next working: ``now`` itself inside a window, otherwise the start
    of the next window. None when there is none within 400 days."""
    now = as_utc(now)
    today = cal.local_date(now)
    for offset in range(SEARCH_DAYS + 1):
        window = working_window(today + timedelta(days=offset), cal, week)
        if window is None or now >= window[1]:
            continue
        return max(window[0], now)
    return None


def expected_reply_by(sent, cal, week, hours=REPLY_HOURS):
    """When a reply can usually be expected under the 48-hour term-time promise.

    In plain words:

    1. The clock starts when the staff member is next working: at ``sent`` if they are working
       then, otherwise at the start of their next working hours.
    2. It runs on whole local days, but only on the staff member's working days (a school day that
       is one of their days). On the first day it runs from that start to local midnight; on each
       later working day it runs the full day, midnight to midnight. It stops on any other day:
       weekends, holidays, INSET days, bank holidays, days outside term, and the days a part-time
       member of staff does not work.
    3. Time is real elapsed time (counted in UTC): a working day on which the clocks change is 23
       or 25 hours long.
    4. When the 48 hours are used up, that instant is the answer, unless it falls in quiet hours:
       then the answer is the start of their next working hours.

    So the answer is never in quiet hours, never on a day they do not work, and never earlier than
    ``sent`` plus 48 hours. None when no working day is found within 400 days.
    """
    start = next_working_start(sent, cal, week)
    if start is None:
        return None
    remaining = timedelta(hours=hours)
    day = cal.local_date(start)
    segment_start = start
    reached = None
    for _offset in range(SEARCH_DAYS + 1):
        if working_window(day, cal, week) is not None:
            segment_start = max(segment_start, cal.local_midnight(day))
            segment_end = cal.local_midnight(day + timedelta(days=1))
            length = segment_end - segment_start
            if remaining <= length:
                reached = segment_start + remaining
                break
            remaining -= length
        day += timedelta(days=1)
    if reached is None:
        return None
    if in_quiet_hours(reached, cal, week):
        return next_working_start(reached, cal, week)
    return reached


# ==== loaders ========================================================================================

def parse_working_days(text):
    """"0,1,2,3,4" -> frozenset({0, 1, 2, 3, 4}); anything unreadable is left out."""
    days = set()
    for part in (text or "").split(","):
        part = part.strip()
        if part.isdigit() and int(part) in ALL_WEEKDAYS:
            days.add(int(part))
    return frozenset(days)


def school_today(school, now=None):
    """The date where the school is."""
    return as_utc(now or datetime.now(UTC)).astimezone(zone(school.timezone)).date()


def academic_year_bounds(year):
    """1 September of ``year`` to 31 August of the next year."""
    return date(year, 9, 1), date(year + 1, 8, 31)


def counted_years(today):
    """The academic years a calendar counts: the current one and the next."""
    year = current_academic_year(today)
    return year, year + 1


def calendar_for(school, today=None):
    """The school's calendar (one query): its working days and hours, and its entries from the
    current and the next academic year."""
    today = today or school_today(school)
    first_year, last_year = counted_years(today)
    earliest, latest = academic_year_bounds(first_year)[0], academic_year_bounds(last_year)[1]
    rows = db.session.execute(select(CalendarEntry.kind, CalendarEntry.first_day, CalendarEntry.last_day).where(
        CalendarEntry.school_id == school.id, CalendarEntry.last_day >= earliest,
        CalendarEntry.first_day <= latest)).all()
    return SchoolCalendar(
        tz=zone(school.timezone), working_days=parse_working_days(school.working_days),
        day_starts=school.day_starts or time(8, 0), day_ends=school.day_ends or time(17, 30),
        terms=sorted((first, last) for kind, first, last in rows if kind == KIND_TERM),
        closures=sorted((first, last) for kind, first, last in rows if kind in CLOSURE_KINDS))


def school_week(school):
    """The school's working days and hours alone (no entries): enough to clip a staff week."""
    return SchoolCalendar(tz=zone(school.timezone), working_days=parse_working_days(school.working_days),
                          day_starts=school.day_starts or time(8, 0), day_ends=school.day_ends or time(17, 30))


def staff_hours_rows(user):
    return db.session.execute(select(StaffHours.weekday, StaffHours.starts, StaffHours.ends).where(
        StaffHours.user_id == user.id).order_by(StaffHours.weekday)).all()


def staff_week_for(user, cal=None):
    """The staff member's week (one query), clipped to the school's days and hours. ``cal`` is the
    school's calendar when the caller has it; otherwise the user's school is read for its hours."""
    return StaffWeek.from_rows(staff_hours_rows(user), cal or school_week(user.school))


def away_for(user, today):
    """The away period that covers ``today`` for this staff member, or None (one query)."""
    return db.session.scalar(select(StaffAway).where(
        StaffAway.user_id == user.id, StaffAway.school_id == user.school_id,
        StaffAway.first_day <= today, StaffAway.last_day >= today,
    ).order_by(StaffAway.last_day.desc()).limit(1))


@dataclass(frozen=True)
class AwayNotice:
    note: str
    last_day: date


@dataclass(frozen=True)
class QuietNotice:
    """What a parent or pupil sees before writing to a member of staff (``calendar/_quiet_notice.html``).

    ``in_quiet``: outside the staff member's working hours now (messages are delivered, they are not
    notified). ``next_start`` and ``reply_by`` are aware UTC datetimes, or None when no working day
    is found; when the member of staff is away they are counted from the day after the away period.
    """
    staff_name: str
    in_quiet: bool
    next_start: datetime | None
    reply_by: datetime | None
    away: AwayNotice | None
    tz: ZoneInfo

    @property
    def shown(self):
        return self.in_quiet or self.away is not None

    def local(self, moment):
        return moment.astimezone(self.tz) if moment is not None else None

    @property
    def next_start_local(self):
        return self.local(self.next_start)

    @property
    def reply_by_local(self):
        return self.local(self.reply_by)


def quiet_notice(staff_user, now=None):
    """The notice about ``staff_user`` at ``now`` (three queries: calendar, hours, away)."""
    now = as_utc(now or datetime.now(UTC))
    school = staff_user.school
    cal = calendar_for(school, school_today(school, now))
    week = staff_week_for(staff_user, cal)
    away = away_for(staff_user, cal.local_date(now))
    counted_from = now
    if away is not None:
        counted_from = max(now, cal.local_midnight(away.last_day + timedelta(days=1)))
    return QuietNotice(
        staff_name=staff_user.name, in_quiet=in_quiet_hours(now, cal, week),
        next_start=next_working_start(counted_from, cal, week),
        reply_by=expected_reply_by(counted_from, cal, week),
        away=AwayNotice(note=away.note or "", last_day=away.last_day) if away is not None else None,
        tz=cal.tz)


# ==== writes: the school calendar ===================================================================

class CalendarError(ValueError):
    """A rule was broken. ``problems`` lists (form field or None, message for the user)."""

    def __init__(self, message, field=None, problems=None):
        super().__init__(message)
        self.problems = problems or [(field, message)]


class ImportRejected(CalendarError):
    """The CSV had bad rows: ``rows`` lists (row number, reason). Nothing was imported."""

    def __init__(self, rows):
        super().__init__(_("Nothing was imported: correct the rows below and try again."))
        self.rows = rows


def _clean(text):
    return " ".join((text or "").split())


def entry_window(today):
    """The first and last day an entry may touch: the current and the next academic year."""
    first_year, last_year = counted_years(today)
    return academic_year_bounds(first_year)[0], academic_year_bounds(last_year)[1]


def entry_problems(kind, name, first_day, last_day, today):
    """What is wrong with an entry, as (field, message); empty when it is fine."""
    problems = []
    if kind not in ENTRY_KINDS:
        problems.append(("kind", _("Choose what kind of date this is.")))
    if not name:
        problems.append(("name", _("Enter a name, like Autumn term or INSET day.")))
    elif len(name) > MAX_ENTRY_NAME:
        problems.append(("name", _("Use at most %(num)d characters for the name.", num=MAX_ENTRY_NAME)))
    if first_day is None:
        problems.append(("first_day", _("Enter the first day, like 2026-09-01.")))
        return problems
    if last_day < first_day:
        problems.append(("last_day", _("The last day must be on or after the first day.")))
        return problems
    earliest, latest = entry_window(today)
    if first_day < earliest or last_day > latest:
        problems.append(("first_day" if first_day < earliest else "last_day",
                         _("Use dates from %(first)s to %(last)s: this academic year or the next.",
                           first=format_date(earliest, "long"), last=format_date(latest, "long"))))
    return problems


def _check_entry(kind, name, first_day, last_day, today):
    problems = entry_problems(kind, name, first_day, last_day, today)
    if problems:
        raise CalendarError(problems[0][1], problems=problems)


def _entry_detail(entry):
    return {"kind": entry.kind, "name": entry.name, "first_day": entry.first_day.isoformat(),
            "last_day": entry.last_day.isoformat()}


def entries_for_year(school, year):
    """The school's entries that touch academic ``year``, in date order (terms first on a day)."""
    first, last = academic_year_bounds(year)
    entries = db.session.scalars(select(CalendarEntry).where(
        CalendarEntry.school_id == school.id, CalendarEntry.last_day >= first,
        CalendarEntry.first_day <= last)).all()
    order = {kind: position for position, kind in enumerate(ENTRY_KINDS)}
    return sorted(entries, key=lambda e: (e.first_day, order.get(e.kind, 9), e.last_day, e.name, e.id))


def add_entry(school, actor, kind, name, first_day, last_day=None, today=None):
    """A term, holiday, INSET day or bank holiday. ``last_day`` defaults to ``first_day``."""
    name, last_day = _clean(name), last_day or first_day
    _check_entry(kind, name, first_day, last_day, today or school_today(school))
    entry = CalendarEntry(school_id=school.id, kind=kind, name=name, first_day=first_day, last_day=last_day,
                          created_by_id=actor.id)
    db.session.add(entry)
    db.session.flush()
    audit("calendar.entry_added", "calendar_entry", entry.id, detail=_entry_detail(entry),
          school_id=school.id, actor=actor)
    db.session.commit()
    return entry


def update_entry(entry, actor, kind, name, first_day, last_day=None, today=None):
    name, last_day = _clean(name), last_day or first_day
    _check_entry(kind, name, first_day, last_day, today or school_today(entry.school))
    before = _entry_detail(entry)
    entry.kind, entry.name, entry.first_day, entry.last_day = kind, name, first_day, last_day
    audit("calendar.entry_changed", "calendar_entry", entry.id,
          detail={"before": before, "after": _entry_detail(entry)}, school_id=entry.school_id, actor=actor)
    db.session.commit()
    return entry


def delete_entry(entry, actor):
    detail = _entry_detail(entry)
    audit("calendar.entry_deleted", "calendar_entry", entry.id, detail=detail, school_id=entry.school_id,
          actor=actor)
    db.session.delete(entry)
    db.session.commit()


def set_school_hours(school, actor, working_days, day_starts, day_ends):
    """The school's working days (weekday numbers, 0 = Monday) and its day, in local time."""
    problems = school_hours_problems(working_days, day_starts, day_ends)
    if problems:
        raise CalendarError(problems[0][1], problems=problems)
    days = sorted({int(d) for d in working_days})
    before = {"working_days": school.working_days, "day_starts": _hhmm(school.day_starts),
              "day_ends": _hhmm(school.day_ends)}
    school.working_days = ",".join(str(d) for d in days)
    school.day_starts, school.day_ends = day_starts, day_ends
    audit("calendar.school_hours_changed", "school", school.id, school_id=school.id, actor=actor, detail={
        "before": before, "after": {"working_days": school.working_days, "day_starts": _hhmm(day_starts),
                                    "day_ends": _hhmm(day_ends)}})
    db.session.commit()
    return school


def school_hours_problems(working_days, day_starts, day_ends):
    days = {int(d) for d in working_days or () if str(d).isdigit() and int(d) in ALL_WEEKDAYS}
    problems = []
    if not days:
        problems.append(("working_days", _("Tick at least one working day.")))
    if day_starts is None:
        problems.append(("day_starts", _("Enter the time the school day starts, like 08:00.")))
    if day_ends is None:
        problems.append(("day_ends", _("Enter the time the school day ends, like 17:30.")))
    elif day_starts is not None and day_ends <= day_starts:
        problems.append(("day_ends", _("The day must end after it starts.")))
    if len(days) != len(set(working_days or ())):
        problems.append(("working_days", _("Choose days from Monday to Sunday.")))
    return problems


def _hhmm(value):
    return value.strftime("%H:%M") if value else None


# ---- the CSV import -----------------------------------------------------------------------------

MAX_IMPORT_BYTES = 100_000
MAX_IMPORT_ROWS = 500
KIND_WORDS = {
    "term": KIND_TERM, "terms": KIND_TERM,
    "holiday": KIND_HOLIDAY, "holidays": KIND_HOLIDAY, "half term": KIND_HOLIDAY, "halfterm": KIND_HOLIDAY,
    "half term holiday": KIND_HOLIDAY, "school holiday": KIND_HOLIDAY,
    "inset": KIND_INSET, "inset day": KIND_INSET, "training day": KIND_INSET,
    "bank holiday": KIND_BANK_HOLIDAY, "bank_holiday": KIND_BANK_HOLIDAY, "public holiday": KIND_BANK_HOLIDAY,
}
ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
UK_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


@dataclass
class ImportedRow:
    number: int
    kind: str
    name: str
    first_day: date
    last_day: date


@dataclass
class ImportResult:
    added: int
    already: int


def decode_upload(data):
    """A CSV file's text: UTF-8 (with or without Excel's byte-order mark), else Windows-1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def kind_from_word(text):
    word = re.sub(r"[\s_\-]+", " ", (text or "").strip().lower())
    return KIND_WORDS.get(word) or KIND_WORDS.get(word.replace(" ", "_"))


def date_from_text(text):
    """YYYY-MM-DD or DD/MM/YYYY (the UK order); None when it is neither or not a real date."""
    text = (text or "").strip()
    try:
        if match := ISO_DATE.fullmatch(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := UK_DATE.fullmatch(text):
            return date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        return None
    return None


def _delimiter(text):
    first = next((line for line in text.splitlines() if line.strip()), "")
    for candidate in (",", "\t", ";"):
        if candidate in first:
            return candidate
    return ","


def parse_calendar_csv(text, today):
    """Rows of kind,name,first_day,last_day -> (rows, problems). Problems are (row number, reason);
    a header row naming the columns is allowed; empty lines are skipped; the last day may be left
    empty for a single day."""
    rows, problems = [], []
    if len(text.encode("utf-8")) > MAX_IMPORT_BYTES:
        return [], [(0, _("The text is too long: import at most %(num)d rows at a time.", num=MAX_IMPORT_ROWS))]
    records = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=_delimiter(text)))
    for number, record in enumerate(records, start=1):
        cells = [cell.strip() for cell in record]
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            continue
        if number == 1 and cells[0].lower() == "kind":
            continue
        if len(rows) + len(problems) >= MAX_IMPORT_ROWS:
            problems.append((number, _("Import at most %(num)d rows at a time.", num=MAX_IMPORT_ROWS)))
            break
        reason, parsed = _parse_row(cells, today)
        if reason:
            problems.append((number, reason))
        else:
            rows.append(ImportedRow(number, *parsed))
    if not rows and not problems:
        problems.append((0, _("There are no dates to import.")))
    return rows, problems


def _parse_row(cells, today):
    if len(cells) < 3:
        return _("Give four columns: kind, name, first day, last day."), None
    if len(cells) > 4:
        return _("There are more than four columns: put the name in quotes if it contains a comma."), None
    kind = kind_from_word(cells[0])
    if kind is None:
        return _("“%(kind)s” is not a kind of date: use Term, Half term, Holiday, INSET or Bank holiday.",
                 kind=cells[0][:40]), None
    name = _clean(cells[1])
    first_day = date_from_text(cells[2])
    if first_day is None:
        return _("The first day “%(text)s” is not a date like 2026-09-01 or 01/09/2026.", text=cells[2][:40]), None
    last_text = cells[3] if len(cells) > 3 else ""
    last_day = date_from_text(last_text) if last_text else first_day
    if last_day is None:
        return _("The last day “%(text)s” is not a date like 2026-09-01 or 01/09/2026.", text=last_text[:40]), None
    problems = entry_problems(kind, name, first_day, last_day, today)
    if problems:
        return problems[0][1], None
    return None, (kind, name, first_day, last_day)


def import_entries(school, actor, text, today=None):
    """Add every row of the CSV ``text``, or none of them: any bad row raises ImportRejected with
    each bad row's number and reason. Rows already in the calendar are skipped, so importing the
    same file twice adds nothing the second time."""
    today = today or school_today(school)
    rows, problems = parse_calendar_csv(text, today)
    if problems:
        raise ImportRejected(problems)
    existing = set(db.session.execute(select(
        CalendarEntry.kind, CalendarEntry.name, CalendarEntry.first_day, CalendarEntry.last_day).where(
        CalendarEntry.school_id == school.id)).all())
    added = already = 0
    for row in rows:
        key = (row.kind, row.name, row.first_day, row.last_day)
        if key in existing:
            already += 1
            continue
        existing.add(key)
        db.session.add(CalendarEntry(school_id=school.id, kind=row.kind, name=row.name, first_day=row.first_day,
                                     last_day=row.last_day, created_by_id=actor.id))
        added += 1
    audit("calendar.imported", "school", school.id, detail={"added": added, "already": already},
          school_id=school.id, actor=actor)
    db.session.commit()
    return ImportResult(added=added, already=already)


# ==== writes: a staff member's own hours and away periods =============================================

def set_staff_hours(user, hours, cal=None):
    """``hours``: weekday -> (starts, ends) for the days they work, each within the school's day.

    Working the school's full week at the school's hours is stored as no rows, so that it follows
    the school when the school's hours change.
    """
    cal = cal or school_week(user.school)
    problems = staff_hours_problems(hours, cal)
    if problems:
        raise CalendarError(problems[0][1], problems=problems)
    full_week = StaffWeek.school_default(cal).hours
    db.session.execute(delete(StaffHours).where(StaffHours.user_id == user.id))
    if hours != full_week:
        for weekday, (starts, ends) in sorted(hours.items()):
            db.session.add(StaffHours(user_id=user.id, weekday=weekday, starts=starts, ends=ends))
    audit("calendar.staff_hours_changed", "user", user.id, school_id=user.school_id, actor=user, detail={
        "days": {str(d): [_hhmm(s), _hhmm(e)] for d, (s, e) in sorted(hours.items())}})
    db.session.commit()


def staff_hours_problems(hours, cal):
    """What is wrong with a staff member's week, as (form field, message)."""
    problems = []
    if not hours:
        problems.append(("days", _("Tick at least one day you work.")))
    for weekday, (starts, ends) in sorted(hours.items()):
        if weekday not in cal.working_days:
            problems.append(("days", _("Choose only the school's working days.")))
            continue
        if starts is None:
            problems.append((f"starts_{weekday}", _("Enter the time you start, like 08:00.")))
        elif starts < cal.day_starts:
            problems.append((f"starts_{weekday}", _("Start at %(time)s or later: the school's day starts then.",
                                                    time=format_time(cal.day_starts, "short"))))
        if ends is None:
            problems.append((f"ends_{weekday}", _("Enter the time you finish, like 15:30.")))
        elif ends > cal.day_ends:
            problems.append((f"ends_{weekday}", _("Finish at %(time)s or earlier: the school's day ends then.",
                                                  time=format_time(cal.day_ends, "short"))))
        elif starts is not None and ends <= starts:
            problems.append((f"ends_{weekday}", _("Finish after you start.")))
    return problems


def upcoming_away(user, today):
    """The staff member's away periods that have not ended, soonest first."""
    return list(db.session.scalars(select(StaffAway).where(
        StaffAway.user_id == user.id, StaffAway.school_id == user.school_id, StaffAway.last_day >= today,
    ).order_by(StaffAway.first_day, StaffAway.id)))


MAX_AWAY_DAYS = 366


def add_away(user, first_day, last_day, note, today):
    """An away period (a residential trip, say) with a short note that parents see."""
    note = _clean(note)
    problems = away_problems(first_day, last_day, note, today)
    if problems:
        raise CalendarError(problems[0][1], problems=problems)
    away = StaffAway(school_id=user.school_id, user_id=user.id, first_day=first_day, last_day=last_day, note=note)
    db.session.add(away)
    db.session.flush()
    audit("calendar.away_added", "staff_away", away.id, school_id=user.school_id, actor=user, detail={
        "first_day": first_day.isoformat(), "last_day": last_day.isoformat()})
    db.session.commit()
    return away


def away_problems(first_day, last_day, note, today):
    problems = []
    if first_day is None:
        problems.append(("first_day", _("Enter the first day you are away, like 2026-09-01.")))
    if last_day is None:
        problems.append(("last_day", _("Enter the last day you are away, like 2026-09-01.")))
    if len(note or "") > MAX_AWAY_NOTE:
        problems.append(("note", _("Keep the note to %(num)d characters.", num=MAX_AWAY_NOTE)))
    if first_day is not None and last_day is not None:
        if last_day < first_day:
            problems.append(("last_day", _("The last day must be on or after the first day.")))
        elif last_day < today:
            problems.append(("last_day", _("That day has already passed.")))
        elif (last_day - first_day).days >= MAX_AWAY_DAYS:
            problems.append(("last_day", _("An away period can be at most a year long.")))
        elif first_day > today + timedelta(days=2 * 366):
            problems.append(("first_day", _("Enter a day within the next two years.")))
    return problems


def remove_away(away, user):
    audit("calendar.away_removed", "staff_away", away.id, school_id=away.school_id, actor=user, detail={
        "first_day": away.first_day.isoformat(), "last_day": away.last_day.isoformat()})
    db.session.delete(away)
    db.session.commit()
