"""Reports on team points: periods, totals, who sees which class, CSV safety, team totals."""
import csv
import io
from datetime import date, datetime, timedelta

import pytest
import time_machine

from app.extensions import db
from app.models import PointAward
from app.models.base import utcnow
from app.services import points, reports
from tests.factories import (
    make_class,
    make_head,
    make_pupil,
    make_school,
    make_senior,
    make_teacher,
    make_team,
)

# ---- periods -----------------------------------------------------------------------------------------


def test_approximate_terms_of_an_english_school_year():
    autumn, spring, summer = reports.approximate_terms(2026)
    assert (autumn.first, autumn.last, autumn.second_half_starts) == (
        date(2026, 9, 1), date(2026, 12, 31), date(2026, 10, 26))  # the last Monday of October
    assert (spring.first, spring.last, spring.second_half_starts) == (
        date(2027, 1, 1), date(2027, 3, 31), date(2027, 2, 15))  # the third Monday of February
    assert (summer.first, summer.last, summer.second_half_starts) == (
        date(2027, 4, 1), date(2027, 8, 31), date(2027, 5, 31))  # the last Monday of May
    for term in (autumn, spring, summer):
        assert term.second_half_starts.weekday() == 0


@pytest.mark.parametrize("academic_year", [2024, 2025, 2026, 2027, 2031])
def test_every_day_of_the_year_is_in_exactly_one_term_and_half_term(academic_year):
    day = date(academic_year, 9, 1)
    while day <= date(academic_year + 1, 8, 31):
        terms = [t for t in reports.approximate_terms(academic_year) if t.first <= day <= t.last]
        assert len(terms) == 1
        half = reports.period_for("half_term", day)
        term = reports.period_for("term", day)
        assert term.first <= half.first <= day <= half.last <= term.last
        assert half.approximate and term.approximate
        day += timedelta(days=1)


@pytest.mark.parametrize("today, kind, first, last", [
    (date(2026, 11, 28), "week", date(2026, 11, 23), date(2026, 11, 29)),  # a Saturday
    (date(2026, 11, 23), "week", date(2026, 11, 23), date(2026, 11, 29)),  # a Monday
    (date(2026, 10, 25), "half_term", date(2026, 9, 1), date(2026, 10, 25)),
    (date(2026, 10, 26), "half_term", date(2026, 10, 26), date(2026, 12, 31)),
    (date(2027, 2, 14), "half_term", date(2027, 1, 1), date(2027, 2, 14)),
    (date(2027, 6, 1), "half_term", date(2027, 5, 31), date(2027, 8, 31)),
    (date(2026, 11, 28), "term", date(2026, 9, 1), date(2026, 12, 31)),
    (date(2027, 3, 31), "term", date(2027, 1, 1), date(2027, 3, 31)),
    (date(2027, 4, 1), "term", date(2027, 4, 1), date(2027, 8, 31)),
    (date(2026, 11, 28), "year", date(2026, 9, 1), date(2027, 8, 31)),
    (date(2027, 8, 31), "year", date(2026, 9, 1), date(2027, 8, 31)),
    (date(2027, 9, 1), "year", date(2027, 9, 1), date(2028, 8, 31)),
])
def test_periods(today, kind, first, last):
    period = reports.period_for(kind, today)
    assert (period.kind, period.first, period.last) == (kind, first, last)
    assert period.approximate == (kind in ("half_term", "term"))


def test_custom_period_is_the_days_chosen_and_week_and_year_are_not_approximate():
    period = reports.period_for("custom", date(2026, 11, 28), date(2026, 10, 1), date(2026, 10, 31))
    assert (period.first, period.last, period.approximate) == (date(2026, 10, 1), date(2026, 10, 31), False)


def test_period_bounds_are_the_schools_midnights_in_utc(app):
    school = make_school(timezone="Europe/London")
    summer = reports.Period("custom", date(2026, 6, 1), date(2026, 6, 30))
    assert summer.bounds(school) == (datetime(2026, 5, 31, 23, 0), datetime(2026, 6, 30, 23, 0))
    winter = reports.Period("custom", date(2026, 12, 1), date(2026, 12, 31))
    assert winter.bounds(school) == (datetime(2026, 12, 1), datetime(2027, 1, 1))


# ---- who may report on which classes -----------------------------------------------------------------


def test_report_classes_teacher_own_senior_and_head_all_never_another_school(app):
    school = make_school()
    mine, theirs = make_class(school, name="3K"), make_class(school, name="5R")
    archived = make_class(school, name="2X", archived_at=utcnow())
    last_year = make_class(school, name="2K", academic_year=mine.academic_year - 1)
    make_class(make_school(), name="9Z")
    teacher = make_teacher(school, classes=[mine, archived, last_year])
    assert reports.report_classes(teacher) == [mine]
    assert not reports.sees_whole_school(teacher)
    for leader in (make_senior(school), make_head(school)):
        assert reports.sees_whole_school(leader)
        assert {c.id for c in reports.report_classes(leader)} == {mine.id, theirs.id}
    assert reports.report_classes(make_teacher(school, can_manage_school=True)) == []


# ---- totals -------------------------------------------------------------------------------------------


def _award(by, pupil, category, key, at=None):
    return points.award_points(by, [pupil], category, key, now=at)


@pytest.fixture
def school_with_points(app):
    school = make_school()
    klass, other = make_class(school, name="3K"), make_class(school, name="5R")
    red, blue = make_team(school, "Red", "red"), make_team(school, "Blue", "blue")
    ada = make_pupil(klass, name="Ada L.", team_id=red.id)
    ben = make_pupil(klass, name="Ben K.", team_id=blue.id)
    cat = make_pupil(klass, name="Cat N.")  # no team
    dan = make_pupil(other, name="Dan O.", team_id=red.id)
    head = make_head(school)
    cats = {c.name: c for c in points.categories(school, kinds=("positive", "needs_work"))}
    values, teamwork = cats["Showing Values"], cats["Teamwork"]
    needs = cats["Needs work: listening"]
    teamwork.value = 2
    db.session.commit()
    _award(head, ada, values, "a1")
    _award(head, ada, teamwork, "a2")
    _award(head, ben, values, "b1")
    _award(head, cat, teamwork, "c1")
    _award(head, dan, values, "d1")
    _award(head, ben, teamwork, "b2")
    points.undo_awards(head, "b2")  # undone: never counts
    school.needs_work_enabled = True
    db.session.commit()
    _award(head, ben, needs, "n1")
    school.needs_work_enabled = False
    db.session.commit()
    return dict(school=school, klass=klass, other=other, red=red, blue=blue, ada=ada, ben=ben,
                cat=cat, dan=dan, head=head, values=values, teamwork=teamwork, needs=needs)


def test_class_report_totals_per_pupil_category_and_team(school_with_points):
    w = school_with_points
    report = reports.points_report(w["head"], "week", school_class=w["klass"])
    by_pupil = {line.obj.id: line for line in report.pupils}
    assert [line.label for line in report.pupils] == ["Ada L.", "Ben K.", "Cat N."]
    assert by_pupil[w["ada"].id].total == 3
    assert by_pupil[w["ada"].id].by_category == {w["values"].id: 1, w["teamwork"].id: 2}
    assert by_pupil[w["ben"].id].total == 1  # the undone Teamwork points and needs work left out
    assert by_pupil[w["cat"].id].total == 2 and by_pupil[w["cat"].id].team is None
    assert by_pupil[w["ada"].id].team == w["red"] and by_pupil[w["ada"].id].class_name == "3K"
    assert report.totals.total == 6  # Dan, in another class, is not in this class's report
    assert report.totals.by_category == {w["values"].id: 2, w["teamwork"].id: 4}
    teams = {(line.team.name if line.team else None): line.total for line in report.teams}
    assert teams == {"Blue": 1, "Red": 3, None: 2}
    assert report.classes == []
    assert not report.show_needs_work and report.needs_work_categories == []
    assert all(not c.needs_work for c in report.categories)


def test_needs_work_points_only_when_the_school_uses_them_and_in_their_own_columns(school_with_points):
    w = school_with_points
    w["school"].needs_work_enabled = True
    db.session.commit()
    report = reports.points_report(w["head"], "week", school_class=w["klass"])
    ben = next(line for line in report.pupils if line.obj.id == w["ben"].id)
    assert report.show_needs_work and report.needs_work_categories == [w["needs"]]
    assert ben.total == 1 and ben.needs_work_total == 1  # kept apart: never subtracted from the total
    assert report.totals.total == 6 and report.totals.needs_work_total == 1
    assert w["needs"] not in report.categories


def test_whole_school_report_per_class(school_with_points):
    w = school_with_points
    report = reports.points_report(w["head"], "term")
    assert report.school_class is None and report.pupils == []
    assert {line.label: line.total for line in report.classes} == {"3K": 6, "5R": 1}
    assert report.totals.total == 7
    assert {(line.team.name if line.team else None): line.total for line in report.teams} == {
        "Blue": 1, "Red": 4, None: 2}
    with_pupils = reports.points_report(w["head"], "term", with_pupils=True)
    assert {line.label: line.total for line in with_pupils.pupils} == {
        "Ada L.": 3, "Ben K.": 1, "Cat N.": 2, "Dan O.": 1}


def test_retired_categories_stay_as_columns_while_they_have_points(school_with_points):
    w = school_with_points
    w["teamwork"].retired_at = utcnow()
    keeping_safe = next(c for c in points.categories(w["school"]) if c.name == "Keeping Ourselves Safe")
    keeping_safe.retired_at = utcnow()
    db.session.commit()
    report = reports.points_report(w["head"], "week", school_class=w["klass"])
    assert w["teamwork"] in report.categories
    assert keeping_safe not in report.categories


def test_week_boundary_is_the_schools_monday_midnight(app):
    """Europe/London in summer: Monday 00:00 is Sunday 23:00 UTC."""
    school = make_school(timezone="Europe/London")
    klass = make_class(school, academic_year=2025)
    pupil = make_pupil(klass)
    teacher = make_teacher(school, classes=[klass])
    category = points.categories(school)[0]
    _award(teacher, pupil, category, "before", at=datetime(2026, 6, 21, 22, 59))  # Sun 23:59 BST
    _award(teacher, pupil, category, "after", at=datetime(2026, 6, 21, 23, 0))  # Mon 00:00 BST
    _award(teacher, pupil, category, "sunday", at=datetime(2026, 6, 28, 22, 59))  # Sun 23:59 BST
    _award(teacher, pupil, category, "next", at=datetime(2026, 6, 28, 23, 0))  # next Mon 00:00 BST
    with time_machine.travel(datetime(2026, 6, 24, 12, 0), tick=False):
        week = reports.points_report(teacher, "week", school_class=klass)
        assert (week.period.first, week.period.last) == (date(2026, 6, 22), date(2026, 6, 28))
        assert week.totals.total == 2
    # 22:30 UTC on Sunday is still Sunday in London; 23:30 UTC on Sunday is already Monday there.
    with time_machine.travel(datetime(2026, 6, 28, 22, 30), tick=False):
        assert reports.points_report(teacher, "week", school_class=klass).totals.total == 2
    with time_machine.travel(datetime(2026, 6, 28, 23, 30), tick=False):
        assert reports.points_report(teacher, "week", school_class=klass).totals.total == 1
        assert reports.team_totals(teacher, with_classes=False).week.first == date(2026, 6, 29)


def test_custom_dates_include_the_last_day_in_the_schools_time_zone(app):
    school = make_school(timezone="Asia/Karachi")  # UTC+5
    klass = make_class(school)
    pupil = make_pupil(klass)
    head = make_head(school)
    category = points.categories(school)[0]
    _award(head, pupil, category, "first", at=datetime(2026, 9, 30, 19, 0))  # 1 Oct 00:00 local
    _award(head, pupil, category, "last", at=datetime(2026, 10, 31, 18, 59))  # 31 Oct 23:59 local
    _award(head, pupil, category, "early", at=datetime(2026, 9, 30, 18, 59))  # 30 Sep local
    _award(head, pupil, category, "late", at=datetime(2026, 10, 31, 19, 0))  # 1 Nov local
    report = reports.points_report(head, "custom", date(2026, 10, 1), date(2026, 10, 31), klass)
    assert report.totals.total == 2


# ---- CSV ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, cell", [
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("@SUM(1)", "'@SUM(1)"),
    ("-2+3", "'-2+3"),
    ("+44 161", "'+44 161"),
    ("\tcmd", "'\tcmd"),
    ("\rcmd", "'\rcmd"),
    ("Zosia K.", "Zosia K."),
    ("", ""),
    ("A=1", "A=1"),
])
def test_safe_cell(text, cell):
    assert reports.safe_cell(text) == cell


def test_safe_cell_leaves_numbers_as_numbers():
    assert reports.safe_cell(-3) == -3 and reports.safe_cell(12) == 12


LABELS = {"pupil": "Pupil", "class": "Class", "team": "Team", "total": "Total",
          "needs_work_total": "Needs work (total)"}


def test_csv_has_a_bom_a_header_and_safe_names(app):
    school = make_school()
    klass = make_class(school, name="=3K")
    team = make_team(school, "@Red", "red")
    make_pupil(klass, name='=HYPERLINK("http://x","y")', team_id=team.id)
    make_pupil(klass, name="-2+3")
    head = make_head(school)
    filename, text = reports.export_points_csv(head, LABELS, "week", school_class=klass)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:4] == ["Pupil", "Class", "Team", "Total"]
    assert "Needs work (total)" not in rows[0]
    assert rows[1][:4] == ["'-2+3", "'=3K", "", "0"]
    assert rows[2][:4] == ['\'=HYPERLINK("http://x","y")', "'=3K", "'@Red", "0"]
    for row in rows:
        for value in row:
            assert not value.startswith(reports.FORMULA_STARTS)


# ---- team totals -------------------------------------------------------------------------------------


def test_team_totals_week_and_term_per_class_without_needs_work_or_undone(school_with_points):
    w = school_with_points
    w["school"].needs_work_enabled = True
    db.session.commit()
    last_month = utcnow() - timedelta(days=21)
    if reports.period_for("term", points.school_today(w["school"], last_month)) == \
            reports.period_for("term", points.school_today(w["school"])):
        _award(w["head"], w["dan"], w["teamwork"], "old", at=last_month)
        term_extra = 2
    else:
        term_extra = 0
    totals = reports.team_totals(w["head"])
    red, blue = w["red"].id, w["blue"].id
    assert totals.school[red] == (4, 4 + term_extra)
    assert totals.school[blue] == (1, 1)  # the undone points and the needs-work point left out
    assert totals.school[None] == (2, 2)
    per_class = {klass.name: numbers for klass, numbers in totals.classes}
    assert per_class["3K"] == {red: (3, 3), blue: (1, 1), None: (2, 2)}
    assert per_class["5R"] == {red: (1, 1 + term_extra)}
    teacher = make_teacher(w["school"], classes=[w["other"]])
    assert [klass.name for klass, _ in reports.team_totals(teacher).classes] == ["5R"]
    assert reports.team_totals(teacher, with_classes=False).classes == []


def test_team_totals_never_include_another_school(school_with_points):
    elsewhere = make_school()
    head = make_head(elsewhere)
    team = make_team(elsewhere, "Green", "green")
    totals = reports.team_totals(head)
    assert totals.teams == [team] and totals.school == {team.id: (0, 0)} and totals.classes == []
    assert db.session.query(PointAward).count() == 7  # the first school's awards exist


def test_team_sums_settle_into_the_cache_and_stay_exact(app):
    """Awards that can no longer be undone are summed once; the last minutes are read afresh."""
    school = make_school()
    klass = make_class(school)
    team = make_team(school, "Red", "red")
    pupil = make_pupil(klass, team_id=team.id)
    head = make_head(school)
    category = points.categories(school)[0]
    start = datetime(2026, 11, 24, 10, 0)  # a Tuesday in the autumn term
    with time_machine.travel(start, tick=False) as traveller:
        _award(head, pupil, category, "old", at=start - timedelta(hours=2))
        assert reports.team_totals(head).school[team.id] == (1, 1)
        points.award_points(head, [pupil], category, "new")
        points.award_points(head, [pupil], category, "oops")
        assert reports.team_totals(head).school[team.id] == (3, 3)  # new awards at once
        points.undo_awards(head, "oops")
        assert reports.team_totals(head).school[team.id] == (2, 2)  # and an undo at once
        traveller.shift(reports.SETTLE_AFTER + timedelta(minutes=1))
        assert reports.team_totals(head).school[team.id] == (2, 2)  # settled: counted once
        cached = app.extensions["hearth_team_sums"][school.id]
        assert cached["sums"] == {(klass.id, team.id): (2, 2)}
        # A change made behind the services' back (history imported) shows after SETTLED_MAX_AGE.
        db.session.add(PointAward(school_id=school.id, pupil_id=pupil.id, class_id=klass.id, team_id=team.id,
                                  category_id=category.id, awarded_by_id=head.id, value=5, needs_work=False,
                                  request_key="import", awarded_at=start - timedelta(days=1)))
        db.session.commit()
        assert reports.team_totals(head).school[team.id] == (2, 2)
        traveller.shift(reports.SETTLED_MAX_AGE)
        assert reports.team_totals(head).school[team.id] == (7, 7)
        # A new week starts the sums again; the term goes on.
        traveller.move_to(datetime(2026, 11, 30, 10, 0))
        assert reports.team_totals(head).school[team.id] == (0, 7)


def test_team_totals_queries_do_not_depend_on_the_cache(app):
    from sqlalchemy import event
    school = make_school()
    klass = make_class(school)
    pupil = make_pupil(klass, team_id=make_team(school).id)
    head = make_head(school)
    points.award_points(head, [pupil], points.categories(school)[0], "k")
    counts = []

    def before(*args, **kwargs):
        counts[-1] += 1
    event.listen(db.engine, "before_cursor_execute", before)
    try:
        for _ in range(3):  # a rebuild, then two cache hits
            db.session.expire_all()
            counts.append(0)
            reports.team_totals(head, with_classes=False)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    assert counts[0] == counts[1] == counts[2]
