"""Quiet hours and the 48-hour reply promise: the pure rules as examples and as properties
(hypothesis), then the loaders and the writes behind the calendar screens."""
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import AuditEntry, CalendarEntry, StaffAway, StaffHours
from app.services import working_time as wt
from app.services.working_time import (
    CalendarError,
    ImportRejected,
    SchoolCalendar,
    StaffWeek,
    expected_reply_by,
    in_quiet_hours,
    next_working_start,
    working_window,
)
from tests.factories import (
    make_away,
    make_calendar_entry,
    make_head,
    make_school,
    make_staff_hours,
    make_teacher,
)

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 11, 28)  # a Saturday in the academic year 2026-27


def at(year, month, day, hour=0, minute=0, tz=LONDON):
    return datetime(year, month, day, hour, minute, tzinfo=tz)


def utc(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# 2026-27 at a school in England.
TERMS = [(date(2026, 9, 1), date(2026, 12, 18)), (date(2027, 1, 4), date(2027, 3, 26)),
         (date(2027, 4, 12), date(2027, 7, 21))]
CLOSURES = [
    (date(2026, 9, 1), date(2026, 9, 1)),     # INSET day
    (date(2026, 10, 26), date(2026, 10, 30)),  # October half-term
    (date(2027, 2, 15), date(2027, 2, 19)),    # February half-term
    (date(2027, 5, 3), date(2027, 5, 3)),      # bank holiday
    (date(2027, 5, 31), date(2027, 6, 4)),     # May half-term
]


def london(**overrides):
    values = dict(tz="Europe/London", terms=TERMS, closures=CLOSURES)
    values.update(overrides)
    return SchoolCalendar(**values)


def full_week(cal):
    return StaffWeek.school_default(cal)


# ---- examples ------------------------------------------------------------------------------------

def test_friday_evening_before_half_term_waits_for_monday_after_it():
    """The issue's journey: 19:00 on Friday 23 October 2026, half-term 26-30 October."""
    cal = london()
    sent = at(2026, 10, 23, 19, 0)
    assert in_quiet_hours(sent, cal, full_week(cal))
    assert next_working_start(sent, cal, full_week(cal)) == at(2026, 11, 2, 8, 0)
    assert expected_reply_by(sent, cal, full_week(cal)) == at(2026, 11, 4, 8, 0)
    # Across the clocks going back on Sunday 25 October, 08:00 is 08:00 GMT.
    assert next_working_start(sent, cal, full_week(cal)) == utc(2026, 11, 2, 8, 0)


def test_a_message_at_17_29_is_in_working_hours_and_one_at_17_31_is_not():
    cal = london()
    week = full_week(cal)
    working, quiet = at(2026, 11, 26, 17, 29), at(2026, 11, 26, 17, 31)  # a Thursday in term
    assert not in_quiet_hours(working, cal, week)
    assert next_working_start(working, cal, week) == working
    # 6 h 31 min on Thursday, 24 h on Friday, the weekend stops the clock, 17 h 29 min on Monday.
    assert expected_reply_by(working, cal, week) == at(2026, 11, 30, 17, 29)
    assert in_quiet_hours(quiet, cal, week)
    assert next_working_start(quiet, cal, week) == at(2026, 11, 27, 8, 0)
    assert expected_reply_by(quiet, cal, week) == at(2026, 12, 1, 8, 0)


@pytest.mark.parametrize("hour, minute, quiet", [
    (7, 59, True), (8, 0, False), (12, 0, False), (17, 29, False), (17, 30, True), (23, 0, True)])
def test_the_working_day_includes_its_start_and_not_its_end(hour, minute, quiet):
    cal = london()
    assert in_quiet_hours(at(2026, 11, 26, hour, minute), cal, full_week(cal)) is quiet


def test_a_holiday_that_starts_on_a_friday():
    cal = london(closures=[(date(2027, 2, 12), date(2027, 2, 19))])  # Friday to Friday
    week = full_week(cal)
    assert not cal.is_school_day(date(2027, 2, 12))
    assert in_quiet_hours(at(2027, 2, 12, 10, 0), cal, week)
    thursday_evening = at(2027, 2, 11, 17, 31)
    assert next_working_start(thursday_evening, cal, week) == at(2027, 2, 22, 8, 0)
    assert expected_reply_by(thursday_evening, cal, week) == at(2027, 2, 24, 8, 0)
    # Thursday morning: 14 h on Thursday, the holiday stops the clock, 24 h Monday, 10 h Tuesday.
    assert expected_reply_by(at(2027, 2, 11, 10, 0), cal, week) == at(2027, 2, 23, 10, 0)


def test_a_part_time_teacher_who_works_tuesday_and_thursday():
    cal = london()
    week = StaffWeek.from_rows([(1, time(8, 0), time(17, 30)), (3, time(8, 0), time(17, 30))], cal)
    monday = at(2026, 11, 23, 10, 0)
    assert in_quiet_hours(monday, cal, week)
    assert in_quiet_hours(at(2026, 11, 25, 10, 0), cal, week)  # Wednesday
    assert not in_quiet_hours(at(2026, 11, 24, 10, 0), cal, week)
    assert next_working_start(monday, cal, week) == at(2026, 11, 24, 8, 0)
    # 16 h on Tuesday, 24 h on Thursday, then 8 h on the next Tuesday.
    assert expected_reply_by(monday, cal, week) == at(2026, 12, 1, 8, 0)


def test_a_part_time_morning_moves_a_reply_that_lands_after_their_hours():
    cal = london()
    week = StaffWeek.from_rows([(1, time(9, 0), time(12, 0)), (3, time(9, 0), time(12, 0))], cal)
    assert expected_reply_by(at(2026, 11, 24, 11, 0), cal, week) == at(2026, 12, 1, 11, 0)
    # Sent at 11:30: the 48 hours end at 11:30 on Tuesday 1 December, inside their morning.
    assert expected_reply_by(at(2026, 11, 24, 11, 30), cal, week) == at(2026, 12, 1, 11, 30)
    # Sent in the afternoon: the clock starts on Thursday at 09:00; 15 h on Thursday, 24 h on
    # Tuesday 1 December, 9 h on Thursday 3 December.
    assert expected_reply_by(at(2026, 11, 24, 14, 0), cal, week) == at(2026, 12, 3, 9, 0)


def test_across_the_last_sunday_of_march_the_school_day_still_starts_at_08_00_local():
    cal = london(terms=[], closures=[])
    sent = at(2027, 3, 26, 19, 0)  # Friday, GMT; the clocks go forward on Sunday 28 March
    assert next_working_start(sent, cal, full_week(cal)) == utc(2027, 3, 29, 7, 0)  # 08:00 BST
    assert expected_reply_by(sent, cal, full_week(cal)) == at(2027, 3, 31, 8, 0)


def test_a_working_day_with_a_clock_change_counts_23_or_25_real_hours():
    every_day = london(terms=[], closures=[], working_days=range(7))
    week = full_week(every_day)
    # Spring: 14 h on Saturday, 23 h on Sunday 28 March, then 11 h on Monday: 11:00, not 10:00.
    assert expected_reply_by(at(2027, 3, 27, 10, 0), every_day, week) == at(2027, 3, 29, 11, 0)
    # Autumn: 14 h on Saturday, 25 h on Sunday 25 October, then 9 h on Monday: 09:00, not 10:00.
    assert expected_reply_by(at(2026, 10, 24, 10, 0), every_day, week) == at(2026, 10, 26, 9, 0)


def test_with_no_terms_every_working_weekday_outside_closures_is_a_school_day():
    cal = london(terms=[])
    assert cal.is_school_day(date(2027, 8, 10))       # a Tuesday in August
    assert not cal.is_school_day(date(2027, 8, 14))   # a Saturday
    assert not cal.is_school_day(date(2026, 10, 27))  # half-term
    with_terms = london()
    assert not with_terms.is_school_day(date(2027, 8, 10))  # summer holiday: outside every term


def test_no_working_day_within_400_days_gives_none():
    cal = london()  # no terms entered for 2027-28
    sent = at(2027, 7, 22, 10, 0)
    assert next_working_start(sent, cal, full_week(cal)) is None
    assert expected_reply_by(sent, cal, full_week(cal)) is None


def test_naive_times_are_utc_and_answers_are_aware_utc():
    cal = london()
    assert not in_quiet_hours(datetime(2026, 11, 26, 8, 0), cal, full_week(cal))   # 08:00 GMT
    summer = london(terms=[])
    assert not in_quiet_hours(datetime(2026, 6, 25, 7, 30), summer, full_week(summer))  # 08:30 BST
    assert in_quiet_hours(datetime(2026, 6, 25, 16, 45), summer, full_week(summer))     # 17:45 BST
    start = next_working_start(datetime(2026, 11, 26, 19, 0), cal, full_week(cal))
    assert start.tzinfo is UTC and start == utc(2026, 11, 27, 8, 0)
    window = working_window(date(2027, 6, 24), cal, full_week(cal))
    assert window == (utc(2027, 6, 24, 7, 0), utc(2027, 6, 24, 16, 30))  # 08:00-17:30 BST


def test_a_staff_week_is_clipped_to_the_school_days_and_hours():
    cal = london()
    week = StaffWeek.from_rows([(0, time(7, 0), time(19, 0)), (5, time(9, 0), time(12, 0)),
                                (2, time(18, 0), time(19, 0)), (4, time(9, 0), time(15, 30))], cal)
    assert week.hours == {0: (time(8, 0), time(17, 30)), 4: (time(9, 0), time(15, 30))}
    assert StaffWeek.from_rows([], cal).hours == {d: (time(8, 0), time(17, 30)) for d in range(5)}
    # Their only day is no longer a school day: they are never working (not the full week).
    assert StaffWeek.from_rows([(6, time(9, 0), time(12, 0))], cal).hours == {}


# ---- properties ----------------------------------------------------------------------------------

ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "Europe/Warsaw"]
FIRST = date(2026, 8, 1)
SPAN_DAYS = 520


def _ranges(max_size, max_length):
    return st.lists(st.tuples(st.integers(0, SPAN_DAYS), st.integers(0, max_length)), max_size=max_size).map(
        lambda pairs: [(FIRST + timedelta(days=a), FIRST + timedelta(days=a + n)) for a, n in pairs])


def _clock(low, high):
    return st.integers(low, high).map(lambda minutes: time(*divmod(minutes, 60)))


@st.composite
def calendars(draw):
    starts = draw(_clock(5 * 60, 10 * 60))
    ends = draw(_clock(starts.hour * 60 + starts.minute + 15, 21 * 60))
    terms = draw(st.one_of(st.just([]), _ranges(4, 200),
                           _ranges(3, 120).map(lambda r: r + [(FIRST, FIRST + timedelta(days=SPAN_DAYS))])))
    return SchoolCalendar(tz=draw(st.sampled_from(ZONES)), working_days=draw(st.sets(st.integers(0, 6), min_size=1)),
                          day_starts=starts, day_ends=ends, terms=terms, closures=draw(_ranges(8, 16)))


@st.composite
def staff_weeks(draw, cal):
    if draw(st.booleans()):
        return StaffWeek.school_default(cal)
    rows = draw(st.lists(st.tuples(st.integers(0, 6), _clock(4 * 60, 13 * 60), _clock(9 * 60, 23 * 60)),
                         min_size=1, max_size=7, unique_by=lambda row: row[0]))
    return StaffWeek.from_rows(rows, cal)


INSTANTS = st.datetimes(min_value=datetime(2026, 8, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))


def _is_their_working_day(moment, cal, week):
    day = cal.local_date(moment)
    return cal.is_school_day(day) and day.weekday() in week.hours


@settings(max_examples=300, deadline=None)
@given(cal=calendars(), data=st.data())
def test_the_expected_reply_is_never_in_quiet_hours_a_holiday_or_before_48_hours(cal, data):
    week = data.draw(staff_weeks(cal))
    sent = data.draw(INSTANTS)
    reply = expected_reply_by(sent, cal, week)
    if reply is None:
        return
    assert reply.tzinfo is UTC
    assert not in_quiet_hours(reply, cal, week)
    assert _is_their_working_day(reply, cal, week)
    day = cal.local_date(reply)
    assert not any(first <= day <= last for first, last in cal.closures)
    assert reply >= sent + timedelta(hours=48)


@settings(max_examples=300, deadline=None)
@given(cal=calendars(), data=st.data())
def test_the_next_working_start_is_never_in_quiet_hours_nor_before_now(cal, data):
    week = data.draw(staff_weeks(cal))
    now = data.draw(INSTANTS)
    start = next_working_start(now, cal, week)
    if start is None:
        assert expected_reply_by(now, cal, week) is None
        return
    assert start >= now
    assert not in_quiet_hours(start, cal, week)
    assert _is_their_working_day(start, cal, week)
    assert next_working_start(start, cal, week) == start
    assert (start == now) == (not in_quiet_hours(now, cal, week))


# ---- loaders ---------------------------------------------------------------------------------------

def _count_queries(fn):
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        result = fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return result, len(statements)


def test_the_calendar_counts_the_current_and_the_next_academic_year_only(app):
    school = make_school()
    make_calendar_entry(school, "term", first_day=date(2025, 9, 1), last_day=date(2026, 7, 20))     # last year
    make_calendar_entry(school, "term", first_day=date(2026, 9, 1), last_day=date(2026, 12, 18))
    make_calendar_entry(school, "holiday", first_day=date(2026, 10, 26), last_day=date(2026, 10, 30))
    make_calendar_entry(school, "term", first_day=date(2027, 9, 2), last_day=date(2027, 12, 17))    # next year
    make_calendar_entry(school, "inset", first_day=date(2028, 9, 1))                               # too far
    make_calendar_entry(make_school(), "holiday", first_day=date(2026, 11, 30))                     # another school
    assert school.timezone  # loaded before counting
    cal, queries = _count_queries(lambda: wt.calendar_for(school, TODAY))
    assert queries == 1
    assert cal.terms == [(date(2026, 9, 1), date(2026, 12, 18)), (date(2027, 9, 2), date(2027, 12, 17))]
    assert cal.closures == [(date(2026, 10, 26), date(2026, 10, 30))]
    assert cal.tz == LONDON and cal.working_days == {0, 1, 2, 3, 4}
    assert (cal.day_starts, cal.day_ends) == (time(8, 0), time(17, 30))


def test_the_school_defaults_come_from_the_database(app):
    school = make_school()
    db.session.expire_all()
    school = db.session.merge(school)
    assert (school.day_starts, school.day_ends, school.working_days) == (time(8, 0), time(17, 30), "0,1,2,3,4")


def test_a_staff_week_is_one_query_and_defaults_to_the_school(app):
    school = make_school()
    full, part = make_teacher(school), make_teacher(school)
    make_staff_hours(part, {1: (time(8, 0), time(17, 30)), 3: (time(9, 0), time(18, 0))})
    cal = wt.calendar_for(school, TODAY)
    assert part.id  # loaded before counting
    week, queries = _count_queries(lambda: wt.staff_week_for(part, cal))
    assert queries == 1
    assert week.hours == {1: (time(8, 0), time(17, 30)), 3: (time(9, 0), time(17, 30))}
    assert wt.staff_week_for(full, cal).hours == StaffWeek.school_default(cal).hours
    assert wt.staff_week_for(part).hours == week.hours  # without a calendar: the school's hours


def test_away_covers_its_days_for_its_own_person_only(app):
    school = make_school()
    teacher, colleague = make_teacher(school), make_teacher(school)
    make_away(teacher, date(2026, 11, 9), date(2026, 11, 13), note="Year 6 residential")
    assert wt.away_for(teacher, date(2026, 11, 8)) is None
    assert wt.away_for(teacher, date(2026, 11, 9)).note == "Year 6 residential"
    assert wt.away_for(teacher, date(2026, 11, 13)) is not None
    assert wt.away_for(teacher, date(2026, 11, 14)) is None
    assert wt.away_for(colleague, date(2026, 11, 10)) is None


def _term_2026(school):
    make_calendar_entry(school, "term", first_day=date(2026, 9, 1), last_day=date(2026, 12, 18))
    make_calendar_entry(school, "holiday", first_day=date(2026, 10, 26), last_day=date(2026, 10, 30))


def test_the_quiet_notice_before_half_term(app):
    school = make_school()
    _term_2026(school)
    teacher = make_teacher(school, name="Ms Patel")
    assert teacher.school.timezone  # the caller has the staff member and their school loaded
    notice, queries = _count_queries(lambda: wt.quiet_notice(teacher, at(2026, 10, 23, 19, 0)))
    assert queries <= 3
    assert notice.staff_name == "Ms Patel" and notice.in_quiet and notice.shown and notice.away is None
    assert notice.next_start == at(2026, 11, 2, 8, 0) and notice.reply_by == at(2026, 11, 4, 8, 0)
    assert notice.next_start_local.hour == 8
    working = wt.quiet_notice(teacher, at(2026, 11, 26, 10, 0))
    assert not working.in_quiet and not working.shown and working.next_start == at(2026, 11, 26, 10, 0)


def test_the_quiet_notice_while_away_counts_from_their_return(app):
    school = make_school()
    _term_2026(school)
    teacher = make_teacher(school, name="Ms Patel")
    make_away(teacher, date(2026, 11, 9), date(2026, 11, 13), note="Year 6 residential")
    notice = wt.quiet_notice(teacher, at(2026, 11, 10, 11, 0))  # Tuesday, in working hours
    assert notice.away == wt.AwayNotice(note="Year 6 residential", last_day=date(2026, 11, 13))
    assert not notice.in_quiet and notice.shown
    assert notice.next_start == at(2026, 11, 16, 8, 0) and notice.reply_by == at(2026, 11, 18, 8, 0)


# ---- writes ------------------------------------------------------------------------------------------

def _audits(action):
    return db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action))


def test_an_entry_is_checked_then_added_changed_and_deleted_with_an_audit(app):
    school = make_school()
    head = make_head(school)
    with pytest.raises(CalendarError) as refused:
        wt.add_entry(school, head, "fortnight", "  ", date(2026, 12, 18), date(2026, 12, 1), today=TODAY)
    assert [field for field, _ in refused.value.problems] == ["kind", "name", "last_day"]
    with pytest.raises(CalendarError) as refused:
        wt.add_entry(school, head, "term", "Old", date(2025, 9, 1), date(2025, 12, 1), today=TODAY)
    assert refused.value.problems[0][0] == "first_day" and "this academic year or the next" in str(refused.value)
    entry = wt.add_entry(school, head, "inset", "  INSET   day ", date(2027, 1, 4), today=TODAY)
    assert (entry.name, entry.first_day, entry.last_day) == ("INSET day", date(2027, 1, 4), date(2027, 1, 4))
    wt.update_entry(entry, head, "bank_holiday", "New Year", date(2027, 1, 1), today=TODAY)
    assert (entry.kind, entry.last_day) == ("bank_holiday", date(2027, 1, 1))
    wt.delete_entry(entry, head)
    assert db.session.scalar(select(func.count(CalendarEntry.id))) == 0
    assert [_audits(a) for a in ("calendar.entry_added", "calendar.entry_changed", "calendar.entry_deleted")] == [
        1, 1, 1]


GOOD_CSV = """kind,name,first_day,last_day
Term,Autumn term,2026-09-01,2026-12-18
Half term,October half-term,26/10/2026,30/10/2026
INSET,INSET day,1/9/2026,
Bank holiday,Christmas Day,2026-12-25,2026-12-25
holiday,Christmas holidays,2026-12-21,2027-01-01
term,"Spring term, first half",2027-01-04,2027-02-12
"""


def test_a_good_csv_imports_every_row_once(app):
    school = make_school()
    head = make_head(school)
    result = wt.import_entries(school, head, GOOD_CSV, today=TODAY)
    assert (result.added, result.already) == (6, 0)
    rows = db.session.execute(select(CalendarEntry.kind, CalendarEntry.name, CalendarEntry.first_day,
                                     CalendarEntry.last_day).order_by(CalendarEntry.first_day,
                                                                      CalendarEntry.kind)).all()
    assert rows[0] == ("inset", "INSET day", date(2026, 9, 1), date(2026, 9, 1))
    assert ("holiday", "October half-term", date(2026, 10, 26), date(2026, 10, 30)) in rows
    assert ("term", "Spring term, first half", date(2027, 1, 4), date(2027, 2, 12)) in rows
    again = wt.import_entries(school, head, GOOD_CSV, today=TODAY)
    assert (again.added, again.already) == (0, 6)
    assert db.session.scalar(select(func.count(CalendarEntry.id))) == 6
    assert _audits("calendar.imported") == 2


def test_pasted_spreadsheet_rows_are_tab_separated():
    rows, problems = wt.parse_calendar_csv("Term\tSummer term\t12/04/2027\t21/07/2027\n", TODAY)
    assert problems == [] and rows[0].kind == "term" and rows[0].last_day == date(2027, 7, 21)


def test_a_bad_csv_reports_each_bad_row_and_imports_nothing(app):
    school = make_school()
    head = make_head(school)
    text = ("kind,name,first_day,last_day\n"
            "Term,Autumn term,2026-09-01,2026-12-18\n"
            "Fortnight,Odd,2026-09-01,2026-09-14\n"
            "Holiday,,2026-10-26,2026-10-30\n"
            "\n"
            "INSET,INSET day,31/02/2027,\n"
            "Holiday,Backwards,2026-12-18,2026-12-01\n"
            "Term,Too short\n"
            "Term,Long ago,2020-09-01,2020-12-18\n")
    with pytest.raises(ImportRejected) as rejected:
        wt.import_entries(school, head, text, today=TODAY)
    numbers = [number for number, _reason in rejected.value.rows]
    assert numbers == [3, 4, 6, 7, 8, 9]
    reasons = dict(rejected.value.rows)
    assert "“Fortnight” is not a kind of date" in reasons[3]
    assert "Enter a name" in reasons[4]
    assert "31/02/2027" in reasons[6]
    assert "on or after the first day" in reasons[7]
    assert "four columns" in reasons[8]
    assert "this academic year or the next" in reasons[9]
    assert db.session.scalar(select(func.count(CalendarEntry.id))) == 0
    _rows, problems = wt.parse_calendar_csv("\n\n", TODAY)
    assert problems == [(0, "There are no dates to import.")]


def test_the_school_hours_are_checked_then_saved(app):
    school = make_school()
    head = make_head(school)
    with pytest.raises(CalendarError) as refused:
        wt.set_school_hours(school, head, [], time(17, 0), time(9, 0))
    assert [field for field, _ in refused.value.problems] == ["working_days", "day_ends"]
    wt.set_school_hours(school, head, [0, 1, 2, 3, 4, 5], time(8, 30), time(16, 0))
    assert (school.working_days, school.day_starts, school.day_ends) == ("0,1,2,3,4,5", time(8, 30), time(16, 0))
    assert _audits("calendar.school_hours_changed") == 1


def test_staff_hours_are_within_the_school_day_and_the_full_week_is_stored_as_none(app):
    school = make_school()
    teacher = make_teacher(school)
    with pytest.raises(CalendarError) as refused:
        wt.set_staff_hours(teacher, {})
    assert refused.value.problems == [("days", "Tick at least one day you work.")]
    with pytest.raises(CalendarError) as refused:
        wt.set_staff_hours(teacher, {1: (time(7, 0), time(18, 0)), 3: (time(12, 0), time(11, 0)),
                                     4: (None, None)})
    assert [field for field, _ in refused.value.problems] == ["starts_1", "ends_1", "ends_3", "starts_4", "ends_4"]
    assert "08:00 or later" in refused.value.problems[0][1]
    wt.set_staff_hours(teacher, {1: (time(8, 0), time(17, 30)), 3: (time(9, 0), time(15, 0))})
    assert db.session.scalar(select(func.count()).select_from(StaffHours)) == 2
    wt.set_staff_hours(teacher, {d: (time(8, 0), time(17, 30)) for d in range(5)})
    assert db.session.scalar(select(func.count()).select_from(StaffHours)) == 0
    assert _audits("calendar.staff_hours_changed") == 2


def test_away_days_are_checked_added_listed_and_removed(app):
    school = make_school()
    teacher = make_teacher(school)
    with pytest.raises(CalendarError) as refused:
        wt.add_away(teacher, date(2026, 11, 20), date(2026, 11, 27), "", TODAY)
    assert refused.value.problems == [("last_day", "That day has already passed.")]
    with pytest.raises(CalendarError) as refused:
        wt.add_away(teacher, date(2026, 12, 9), date(2026, 12, 1), "x" * 301, TODAY)
    assert [field for field, _ in refused.value.problems] == ["note", "last_day"]
    away = wt.add_away(teacher, date(2026, 12, 7), date(2026, 12, 11), " Year 6  residential ", TODAY)
    assert away.note == "Year 6 residential"
    assert wt.upcoming_away(teacher, TODAY) == [away]
    wt.remove_away(away, teacher)
    assert db.session.scalar(select(func.count(StaffAway.id))) == 0
    assert [_audits("calendar.away_added"), _audits("calendar.away_removed")] == [1, 1]
